/** Real agent CLIs in real sessions: Claude Code on the default policy, driven by a stand-in
 *  of its model API that runs inside the session's own container on loopback. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REQUIRE_KERNEL, sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';

const REPO = path.resolve(__dirname, '..', '..', '..');
const STUB = path.join(REPO, 'test', 'fixtures', 'model-stub', 'anthropic.js');
const BUILD = path.join(REPO, 'scripts', 'build-agent-image.sh');
/** The stand-in's port on the container's own loopback. */
const PORT = 4599;

function read(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `(no ${file})`;
}

/** Skips without the agents image, except in CI, where the image is built here if missing. */
function agentSkip(): string | false {
  const sandbox = sandboxSkip();
  if (sandbox) return sandbox;
  const tag = execFileSync('bash', [BUILD, '--print-tag'], { encoding: 'utf8' }).trim();
  const found = spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0;
  if (found) return false;
  if (!REQUIRE_KERNEL) {
    return `the agents image ${tag} is not built; run \`bash scripts/build-agent-image.sh\``;
  }
  execFileSync('bash', [BUILD], { stdio: ['ignore', process.stderr, process.stderr] });
  return false;
}

describe('Claude Code in a session', { skip: agentSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('lists every agent with its pinned version and its image as built', () => {
    const r = daemon.cli(['agents', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { agent: string; version: string; built: string });
    assert.deepEqual(
      rows.map((a) => a.agent),
      ['shell', 'claude', 'codex', 'gemini', 'qwen', 'opencode'],
    );
    const claude = rows.find((a) => a.agent === 'claude');
    assert.match(claude?.version ?? '', /^\d+\.\d+\.\d+$/);
    assert.equal(claude?.built, 'yes');
  });

  it('runs a tool call in the sandbox: its workspace write lands, its .env read is denied', () => {
    const ws = makeWorkspace({ '.env': 'API_TOKEN=planted-secret\n' });
    fs.copyFileSync(STUB, path.join(ws, 'model-stub.js'));
    fs.copyFileSync(
      path.join(path.dirname(STUB), 'messages-api.js'),
      path.join(ws, 'messages-api.js'),
    );
    const stubLog = path.join(ws, 'model-stub.log');
    const toolCommand = `cat ${ws}/.env; env > ${ws}/tool-env.txt; echo ok > ${ws}/from-claude.txt`;
    // Claude Code starts the stand-in itself, from a session-start hook, before its first
    // request: the model API then lives on the session's loopback only.
    const startStub = `node ${ws}/model-stub.js --background ${PORT} ${stubLog} '${toolCommand}'`;
    const settings = {
      hooks: { SessionStart: [{ hooks: [{ type: 'command', command: startStub }] }] },
    };

    const r = daemon.cli(
      [
        'run',
        '--json',
        '--workspace',
        ws,
        'claude',
        '--',
        '--settings',
        JSON.stringify(settings),
        '-p',
        'Run the command you are given.',
      ],
      {
        timeoutMs: 180_000,
        env: {
          ANTHROPIC_BASE_URL: `http://127.0.0.1:${PORT}`,
          ANTHROPIC_API_KEY: 'should-not-pass',
          SECRET_TOKEN: 'x',
        },
      },
    );
    const session = sessionOf(r.stderr);
    const context = `leash run: ${r.status}\n${r.stdout}\n${r.stderr}`;

    // The tool call ran in the sandbox and its write reached the workspace on the host.
    const written = path.join(ws, 'from-claude.txt');
    assert.ok(fs.existsSync(written), `no ${written}; ${context}\n${read(stubLog)}`);
    assert.equal(fs.readFileSync(written, 'utf8'), 'ok\n');

    // Its read of .env was denied, and the model was told so rather than shown the secret.
    const requests = fs
      .readFileSync(stubLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { apiKey: string | null; toolResult: string | null });
    const result = requests.find((q) => q.toolResult !== null)?.toolResult ?? '';
    assert.match(result, /Operation not permitted|Permission denied/, result);
    assert.doesNotMatch(result, /planted-secret/);
    const denial = daemon
      .events(session)
      .find((e) => e.resource === path.join(ws, '.env') && e.decision === 'deny');
    assert.ok(denial, 'the .env denial is in the audit log');
    assert.equal(denial.action, 'ReadFile');
    assert.equal(denial.principal, 'claude');
    assert.deepEqual(denial.policies, ['env-files']);

    // The caller's environment stayed outside: the agent sent only the placeholder key, and
    // its tools saw neither the key nor other variables; the profile's settings were there.
    assert.ok(requests.length > 0);
    for (const q of requests) assert.equal(q.apiKey, 'leash-placeholder-claude');
    const toolEnv = fs.readFileSync(path.join(ws, 'tool-env.txt'), 'utf8');
    assert.doesNotMatch(toolEnv, /should-not-pass|SECRET_TOKEN/);
    assert.match(toolEnv, /^DISABLE_AUTOUPDATER=1$/m);
    assert.match(toolEnv, /^CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1$/m);
    assert.match(toolEnv, new RegExp(`^ANTHROPIC_BASE_URL=http://127.0.0.1:${PORT}$`, 'm'));
  });
});
