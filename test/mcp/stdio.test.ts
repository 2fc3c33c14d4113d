/** A governed stdio MCP server in a real session: a client inside the sandbox reaches it only
 *  through the shim, and leashd judges every call against the session's policy. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, TestDaemon, waitFor } from '../support/leashd';

const REPO = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'mcp');
const SESSION = 'mcp-e2e';

const BASE_POLICY = `
@id("exec-any") permit (principal, action == Leash::Action::"Exec", resource);
@id("system-read") permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/");
@id("workspace-rw") permit (principal, action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
  resource in Leash::Dir::"@workspace");
@id("dev-null") permit (principal, action == Leash::Action::"WriteFile", resource == Leash::File::"/dev/null");
@id("notes-read") permit (principal, action == Leash::Action::"McpCall",
  resource == Leash::McpTool::"notes/read_note");
@id("no-delete") forbid (principal, action == Leash::Action::"McpCall",
  resource == Leash::McpTool::"notes/delete_note");
`;
const RELOADED_POLICY =
  BASE_POLICY +
  `@id("notes-write") permit (principal, action == Leash::Action::"McpCall",
  resource == Leash::McpTool::"notes/write_note");
`;

interface Answer {
  step: unknown;
  answer: {
    id?: unknown;
    result?: { tools?: { name: string }[]; content?: { text: string }[] };
    error?: { code: number; message: string; data?: { policies: string[] } };
  } | null;
}

const call = (id: number, name: string) => ({
  send: { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { title: 'a' } } },
});
const list = (id: number) => ({ send: { jsonrpc: '2.0', id, method: 'tools/list' } });

describe('a governed stdio MCP server through the shim', { skip: sandboxSkip() }, () => {
  const ws = makeWorkspace();
  // The sandbox image has no Node of its own: the host's runs from the workspace.
  fs.copyFileSync(process.execPath, path.join(ws, 'node'));
  fs.chmodSync(path.join(ws, 'node'), 0o755);
  for (const f of ['notes-server.js', 'client.js'])
    fs.copyFileSync(path.join(FIXTURES, f), path.join(ws, f));
  const serversFile = path.join(ws, 'mcp-servers.json');
  fs.writeFileSync(
    serversFile,
    JSON.stringify({
      notes: { command: [`${ws}/node`, `${ws}/notes-server.js`, `${ws}/calls.log`] },
      stubborn: {
        command: [`${ws}/node`, `${ws}/notes-server.js`, `${ws}/stubborn.log`, '--ignore-eof'],
      },
    }),
  );
  const daemon = new TestDaemon(['--mcp-servers', serversFile]);
  let answers: Answer[] = [];
  let shimRefusal = '';
  let listed = '';

  before(async () => {
    await daemon.start();
    const policy = path.join(ws, 'policy.cedar');
    fs.writeFileSync(policy, BASE_POLICY);
    const run = path.join(ws, '.leash', 'run');
    fs.writeFileSync(
      path.join(ws, 'script.json'),
      JSON.stringify({
        server: [`${ws}/node`, `${run}/mcp-shim.js`, `${run}/mcp-${SESSION}.sock`, 'notes'],
        out: `${ws}/answers.jsonl`,
        steps: [
          {
            send: {
              jsonrpc: '2.0',
              id: 0,
              method: 'initialize',
              params: {
                protocolVersion: '2025-06-18',
                capabilities: {},
                clientInfo: { name: 't', version: '1' },
              },
            },
          },
          { send: { jsonrpc: '2.0', method: 'notifications/initialized' } },
          list(1),
          call(2, 'read_note'),
          call(3, 'delete_note'),
          call(4, 'write_note'),
          { raw: '{"jsonrpc":"2.0","id":5,"method":"tools/call",' },
          { send: [call(6, 'read_note').send, call(7, 'delete_note').send] },
          { ready: `${ws}/ready`, go: `${ws}/go` },
          list(8),
          call(9, 'write_note'),
        ],
      }),
    );
    const session = daemon.cliAsync([
      'run',
      '--json',
      '--name',
      SESSION,
      '--workspace',
      ws,
      '--policy',
      policy,
      'shell',
      '--',
      'sh',
      '-c',
      `${ws}/node ${ws}/client.js ${ws}/script.json; ` +
        `${ws}/node ${run}/mcp-shim.js ${run}/mcp-${SESSION}.sock other </dev/null 2>${ws}/refusal.txt; ` +
        `echo "shim exit $?" >> ${ws}/refusal.txt; ` +
        // A server that ignores the end of its input is stopped while the session goes on.
        `${ws}/node ${run}/mcp-shim.js ${run}/mcp-${SESSION}.sock stubborn </dev/null; ` +
        // While it runs, no process of the agent's sandbox is a governed server.
        `grep -l 'notes-serve[r]' /proc/[0-9]*/cmdline > ${ws}/visible.txt; sleep 8`,
    ]);
    await waitFor(
      'the client to reach its reload step',
      () => fs.existsSync(`${ws}/ready`),
      60_000,
    );
    listed = daemon.cli(['sessions', '--json']).stdout;
    fs.writeFileSync(path.join(ws, 'reloaded.cedar'), RELOADED_POLICY);
    const applied = daemon.cli([
      'policy',
      'apply',
      '--session',
      SESSION,
      path.join(ws, 'reloaded.cedar'),
    ]);
    assert.equal(applied.status, 0, applied.stderr);
    fs.writeFileSync(`${ws}/go`, '');
    const r = await session.done;
    assert.equal(r.status, 0, `${r.stderr}\n${daemon.log.slice(-3000)}`);
    answers = fs
      .readFileSync(`${ws}/answers.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Answer);
    shimRefusal = fs.readFileSync(`${ws}/refusal.txt`, 'utf8');
  });
  after(() => daemon.stop());

  const answerTo = (id: number) =>
    answers.find((a) => a.answer && (a.answer as { id?: unknown }).id === id)?.answer;

  it('initializes through the shim with the real server', () => {
    assert.ok(answerTo(0)?.result, JSON.stringify(answers));
  });

  it('lists only the tools the policy can allow', () => {
    assert.deepEqual(
      answerTo(1)?.result?.tools?.map((t) => t.name),
      ['read_note'],
    );
  });

  it('lets an allowlisted tool run on the server', () => {
    assert.equal(answerTo(2)?.result?.content?.[0]?.text, 'read_note done');
  });

  it('answers a forbidden tool with a JSON-RPC error naming the policy', () => {
    const e = answerTo(3)?.error;
    assert.equal(e?.code, -32001);
    assert.match(e?.message ?? '', /notes\/delete_note.*no-delete/);
  });

  it('denies a tool no permit names (the allowlist holds) and says what to add', () => {
    const e = answerTo(4)?.error;
    assert.equal(e?.code, -32001);
    assert.match(e?.message ?? '', /denied by default/);
    assert.deepEqual(e?.data?.policies, []);
  });

  it('answers invalid JSON with a parse error and keeps the conversation going', () => {
    const parseError = answers.find((a) => (a.step as { raw?: string }).raw !== undefined)?.answer;
    assert.equal(parseError?.error?.code, -32700);
    assert.equal(parseError?.id, null);
  });

  it('answers a batch with the server part and the denial together', () => {
    const batch = answers.find((a) => Array.isArray(a.answer))?.answer as unknown as {
      id: number;
      error?: { code: number };
    }[];
    assert.deepEqual(
      batch.map((m) => [m.id, m.error?.code]),
      [
        [6, undefined],
        [7, -32001],
      ],
    );
  });

  it('applies a reloaded policy to the same conversation: the tool is listed and runs', () => {
    assert.deepEqual(
      answerTo(8)?.result?.tools?.map((t) => t.name),
      ['read_note', 'write_note'],
    );
    assert.equal(answerTo(9)?.result?.content?.[0]?.text, 'write_note done');
  });

  it('passes only allowed calls to the server', () => {
    const received = fs
      .readFileSync(`${ws}/calls.log`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    assert.deepEqual(received, ['read_note', 'read_note', 'write_note']);
  });

  it('stops a server that keeps running after the client has gone (SIGTERM)', () => {
    const stop = daemon
      .events(SESSION)
      .find((e) => e.kind === 'mcp' && e.action === 'Stop' && e.principal === 'mcp:stubborn');
    assert.equal(stop?.exitCode, 143, JSON.stringify(stop));
  });

  it('runs each server in a sandbox of its own, as principal mcp:<server>', () => {
    const starts = daemon
      .events(SESSION)
      .filter((e) => e.kind === 'session' && e.action === 'Start');
    const agent = starts.find((e) => e.principal === 'shell');
    const server = starts.find((e) => e.principal === 'mcp:notes');
    assert.ok(agent && server, JSON.stringify(starts));
    assert.notEqual(server.container, agent.container);
    const info = listed
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; principals: string[] })
      .find((i) => i.name === SESSION);
    assert.deepEqual(info?.principals, ['shell', 'mcp:notes'], listed);
    assert.equal(fs.readFileSync(`${ws}/visible.txt`, 'utf8'), '');
  });

  it('refuses a shim that names a server the host did not declare', () => {
    assert.match(
      shimRefusal,
      /no governed MCP server named other; declared on this host: notes, stubborn/,
    );
    assert.match(shimRefusal, /shim exit 1/);
  });

  it('records every call in the audit log with server, tool, decision and policies', () => {
    const rows = daemon
      .events(SESSION)
      .filter((e) => e.kind === 'mcp' && e.action === 'McpCall')
      .map((e) => [
        e.principal,
        e.resource,
        e.decision,
        (e.policies as string[]).join(','),
        e.server,
        e.tool,
      ]);
    assert.deepEqual(rows, [
      ['shell', 'notes/read_note', 'allow', 'notes-read', 'notes', 'read_note'],
      ['shell', 'notes/delete_note', 'deny', 'no-delete', 'notes', 'delete_note'],
      ['shell', 'notes/write_note', 'deny', '', 'notes', 'write_note'],
      ['shell', 'notes/read_note', 'allow', 'notes-read', 'notes', 'read_note'],
      ['shell', 'notes/delete_note', 'deny', 'no-delete', 'notes', 'delete_note'],
      ['shell', 'notes/write_note', 'allow', 'notes-write', 'notes', 'write_note'],
    ]);
    const started = daemon.events(SESSION).find((e) => e.kind === 'mcp' && e.action === 'Start');
    assert.equal(started?.principal, 'mcp:notes');
  });
});
