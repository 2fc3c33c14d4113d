/**
 * The MCP shim: what an agent inside the sandbox runs as a governed stdio MCP server. It
 * connects to its session's MCP socket, names the server it wants, and then relays stdin and
 * stdout unchanged; leashd starts the real server and judges every message in between.
 * Runs on the sandbox's own Node, so it uses nothing but Node's built-in modules.
 *
 *   node mcp-shim.js SOCKET SERVER
 */
import * as net from 'node:net';

const [socketPath, server] = process.argv.slice(2);
if (!socketPath || !server) {
  process.stderr.write('usage: node mcp-shim.js SOCKET SERVER\n');
  process.exit(2);
}

const conn = net.createConnection(socketPath);
conn.write(JSON.stringify({ server }) + '\n');

let head = Buffer.alloc(0);
let relaying = false;
conn.on('data', (chunk: Buffer) => {
  if (relaying) {
    process.stdout.write(chunk);
    return;
  }
  head = Buffer.concat([head, chunk]);
  const nl = head.indexOf(0x0a);
  if (nl < 0) return;
  const answer = JSON.parse(head.subarray(0, nl).toString('utf8')) as { error?: string };
  if (answer.error !== undefined) {
    process.stderr.write(`leash-mcp: ${answer.error}\n`);
    process.exit(1);
  }
  relaying = true;
  if (nl + 1 < head.length) process.stdout.write(head.subarray(nl + 1));
  process.stdin.pipe(conn);
});
conn.on('end', () => process.stdout.end(() => process.exit(0)));
conn.on('error', (err) => {
  process.stderr.write(
    `leash-mcp: cannot reach leashd's MCP socket ${socketPath}: ${err.message}\n`,
  );
  process.exit(1);
});
