/**
 * mcp_call_ms: sequential MCP tools/call from a client inside a session to a governed stdio
 * server (the shim, leashd's judge, the server in a sandbox of its own), against the same
 * client spawning the same server itself inside its own session, the two asked in turn.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, TestDaemon } from '../support/leashd';
import { WORKSPACE_RW } from '../support/policies';
import { sessionProbe } from './kernel';
import type { ProbeServer } from './probe';
import { interleave, summarise, type Result } from './stats';

const BENCH = path.resolve(__dirname, '..', '..', 'bench');
const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'mcp');

const POLICY = `${WORKSPACE_RW}
@id("notes-read")
permit (
  principal,
  action == Leash::Action::"McpCall",
  resource == Leash::McpTool::"notes/read_note"
);
`;

export interface McpSizes {
  calls: number;
  pairs: number;
  budgetMs: number;
}

export async function mcpCalls(sizes: McpSizes, log: (line: string) => void): Promise<Result> {
  const ws = makeWorkspace({ 'policy.cedar': POLICY });
  // The sandbox image has no Node of its own: the host's runs from the workspace.
  const node = path.join(ws, 'node');
  fs.copyFileSync(process.execPath, node);
  fs.chmodSync(node, 0o755);
  fs.copyFileSync(path.join(BENCH, 'mcp-client.js'), path.join(ws, 'mcp-client.js'));
  fs.copyFileSync(path.join(FIXTURES, 'notes-server.js'), path.join(ws, 'notes-server.js'));
  const server = [node, path.join(ws, 'notes-server.js')];
  const serversFile = path.join(ws, 'mcp-servers.json');
  fs.writeFileSync(
    serversFile,
    JSON.stringify({ notes: { command: [...server, path.join(ws, 'governed.log')] } }),
  );
  const daemon = new TestDaemon(['--mcp-servers', serversFile]);
  const clients: ProbeServer[] = [];
  try {
    await daemon.start();
    const policy = path.join(ws, 'policy.cedar');
    const session = `bench-mcp-${process.pid}`;
    const run = path.join(ws, '.leash', 'run');
    const client = [node, path.join(ws, 'mcp-client.js')];
    clients.push(
      sessionProbe(
        daemon,
        policy,
        ws,
        [...client, node, `${run}/mcp-shim.js`, `${run}/mcp-${session}.sock`, 'notes'],
        session,
      ),
      sessionProbe(daemon, policy, ws, [...client, ...server, path.join(ws, 'direct.log')]),
    );
    await Promise.all(clients.map((c) => c.ready(120_000)));
    const started = Date.now();
    const ask = (c: ProbeServer) => async (): Promise<number[]> => {
      const t = await c.run(`call ${sizes.calls}`, 120_000);
      return [t.meanNs / 1e6, t.p99Ns / 1e6];
    };
    const pairs = await interleave(
      { pairs: sizes.pairs, warmup: 1, budgetMs: sizes.budgetMs },
      ask(clients[0] as ProbeServer),
      ask(clients[1] as ProbeServer),
    );
    const side = (rows: number[][]) => ({
      samples: rows.map((r) => r[0] as number),
      p99s: rows.map((r) => r[1] as number),
    });
    const result = summarise(
      'mcp_call_ms/tools-call',
      'ms',
      side(pairs.a),
      side(pairs.b),
      `${sizes.calls} sequential tools/call per sample from a client in a session through the ` +
        `shim, leashd's judge and the governed server's own sandbox; baseline: the client ` +
        `spawning the same server itself in its session; p99 per call`,
    );
    log(`${result.name}: ${result.value} ms vs ${result.baseline} ms (${Date.now() - started} ms)`);
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await daemon.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  }
}
