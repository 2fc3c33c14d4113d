/** Claude Code in a real session uses a governed stdio MCP server through the shim: leashd
 *  gives it the server, hides the tool the policy forbids, runs the allowed call and refuses
 *  the call whose arguments a forbid names. The model is a stand-in inside the container. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REQUIRE_KERNEL, sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';

const REPO = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'mcp');
const BUILD = path.join(REPO, 'scripts', 'build-agent-image.sh');
const PORT = 4598;

const MCP_RULES = `
@id("notes-read-write") permit (principal, action == Leash::Action::"McpCall", resource)
  when { resource in [Leash::McpTool::"notes/read_note", Leash::McpTool::"notes/write_note"] };
@id("no-secrets") forbid (principal, action == Leash::Action::"McpCall", resource)
  when { context.arguments like "*secret*" };
`;

/** Skips without the agents image, except in CI, where it is built here if missing. */
function agentSkip(): string | false {
  const sandbox = sandboxSkip();
  if (sandbox) return sandbox;
  const tag = execFileSync('bash', [BUILD, '--print-tag'], { encoding: 'utf8' }).trim();
  if (spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0) {
    return false;
  }
  if (!REQUIRE_KERNEL) return `the agents image ${tag} is not built`;
  execFileSync('bash', [BUILD], { stdio: ['ignore', process.stderr, process.stderr] });
  return false;
}

interface StubRequest {
  offered: string[];
  results: string[];
}

describe('Claude Code with a governed MCP server', { skip: agentSkip() }, () => {
  const ws = makeWorkspace();
  for (const f of ['notes-server.js', 'anthropic-mcp.js']) {
    fs.copyFileSync(path.join(FIXTURES, f), path.join(ws, f));
  }
  fs.copyFileSync(
    path.join(FIXTURES, '..', 'model-stub', 'messages-api.js'),
    path.join(ws, 'messages-api.js'),
  );
  const serversFile = path.join(ws, 'mcp-servers.json');
  fs.writeFileSync(
    serversFile,
    JSON.stringify({ notes: { command: ['node', `${ws}/notes-server.js`, `${ws}/calls.log`] } }),
  );
  const daemon = new TestDaemon(['--mcp-servers', serversFile]);
  let session = '';
  let requests: StubRequest[] = [];
  let context = '';

  before(async () => {
    await daemon.start();
    const policy = path.join(ws, 'policy.cedar');
    const defaults = fs.readFileSync(path.join(REPO, 'policies', 'default.cedar'), 'utf8');
    fs.writeFileSync(policy, defaults + MCP_RULES);
    const stubLog = path.join(ws, 'stub.log');
    const startStub = `node ${ws}/anthropic-mcp.js --background ${PORT} ${stubLog}`;
    const settings = {
      hooks: { SessionStart: [{ hooks: [{ type: 'command', command: startStub }] }] },
      // MCP tools go to the model directly, not behind Claude Code's tool search.
      env: { ENABLE_TOOL_SEARCH: 'false' },
    };
    const r = daemon.cli(
      [
        'run',
        '--json',
        '--workspace',
        ws,
        '--policy',
        policy,
        'claude',
        '--',
        '--settings',
        JSON.stringify(settings),
        '-p',
        'Use the notes tools.',
      ],
      {
        timeoutMs: 180_000,
        env: { ANTHROPIC_BASE_URL: `http://127.0.0.1:${PORT}`, ANTHROPIC_API_KEY: 'x' },
      },
    );
    context = `leash run: ${r.status}\n${r.stdout}\n${r.stderr}\nleashd:\n${daemon.log.slice(-4000)}`;
    session = sessionOf(r.stderr);
    requests = fs.existsSync(stubLog)
      ? fs
          .readFileSync(stubLog, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as StubRequest)
      : [];
  });
  after(() => daemon.stop());

  it('offers the model only the tools the policy can allow', () => {
    const offered = requests.find((q) => q.offered.length > 0)?.offered ?? [];
    assert.deepEqual(
      [...offered].sort(),
      ['mcp__notes__read_note', 'mcp__notes__write_note'],
      context,
    );
  });

  it('runs the allowed call on the server and refuses the forbidden one, naming the policy', () => {
    const results = requests.at(-1)?.results ?? [];
    assert.match(results[0] ?? '', /read_note done/, context);
    assert.match(results[1] ?? '', /notes\/write_note.*no-secrets/, context);
    const received = fs.readFileSync(path.join(ws, 'calls.log'), 'utf8');
    assert.equal(received, 'read_note {"title":"plan"}\n');
  });

  it('records both calls under the agent, and the server under its own principal', () => {
    const events = daemon.events(session).filter((e) => e.kind === 'mcp');
    const calls = events
      .filter((e) => e.action === 'McpCall')
      .map((e) => [e.principal, e.resource, e.decision, e.policies]);
    assert.deepEqual(calls, [
      ['claude', 'notes/read_note', 'allow', ['notes-read-write']],
      ['claude', 'notes/write_note', 'deny', ['no-secrets']],
    ]);
    assert.ok(events.some((e) => e.action === 'Start' && e.principal === 'mcp:notes'));
  });
});
