// The MCP client of the mcp_call benchmark, run inside a sandbox by the host's node: starts the
// server command it is given (Leash's shim, or the server itself), initializes, and then serves
// the same line protocol as probe.c: `ready`, then for each `call N` line, N sequential
// tools/call of read_note answered `ok MEAN_NS P99_NS` (per call).
//   node mcp-client.js SERVER_COMMAND...
'use strict';
const { spawn } = require('node:child_process');
const readline = require('node:readline');

const [program, ...args] = process.argv.slice(2);
if (!program) {
  process.stderr.write('usage: node mcp-client.js SERVER_COMMAND...\n');
  process.exit(2);
}
const server = spawn(program, args, { stdio: ['pipe', 'pipe', 'inherit'] });
const waiting = new Map();
let nextId = 1;
readline.createInterface({ input: server.stdout }).on('line', (line) => {
  const msg = JSON.parse(line);
  const done = waiting.get(msg.id);
  if (done) {
    waiting.delete(msg.id);
    done(msg);
  }
});
server.on('exit', (code) => {
  process.stdout.write(`err the server exited (${code})\n`);
  process.exit(1);
});

function request(method, params) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method} in 30 s`)), 30000);
    waiting.set(id, (msg) => {
      clearTimeout(timer);
      if (msg.error) reject(new Error(`${method} refused: ${msg.error.message}`));
      else resolve(msg.result);
    });
    server.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  });
}

async function calls(n) {
  const times = [];
  const start = process.hrtime.bigint();
  let t = start;
  for (let i = 0; i < n; i++) {
    await request('tools/call', { name: 'read_note', arguments: { title: 'bench' } });
    const t2 = process.hrtime.bigint();
    times.push(Number(t2 - t));
    t = t2;
  }
  times.sort((a, b) => a - b);
  const mean = Number(t - start) / n;
  return `ok ${Math.round(mean)} ${times[Math.floor((n * 99) / 100)] ?? times[n - 1]}`;
}

async function main() {
  await request('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'leash-bench', version: '1' },
  });
  server.stdin.write(
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n',
  );
  process.stdout.write('ready\n');
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.startsWith('quit')) break;
    const m = /^call (\d+)$/.exec(line);
    const answer =
      m && Number(m[1]) > 0
        ? await calls(Number(m[1])).catch((e) => `err ${e.message}`)
        : `err unknown command: ${line}`;
    process.stdout.write(answer + '\n');
  }
  server.removeAllListeners('exit');
  server.stdin.end();
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(`err ${err.message}\n`);
  process.exit(1);
});
