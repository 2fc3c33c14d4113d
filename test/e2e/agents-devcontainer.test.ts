/** Claude Code as a devcontainer's non-root remoteUser: its configuration volume is its own to
 *  write, and the session's MCP socket lets it reach a governed MCP server. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentProfile, configVolumes } from '@leash/helper/dist/agents';
import { makeWorkspace } from '../support/leashd';
import { AgentBench, agentSkip, policyWithEcho, volumeDir } from './agents-harness';

const REPO = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'mcp');
const SESSION = 'agent-dev-user';

const DEVCONTAINER = JSON.stringify({
  build: { dockerfile: 'Dockerfile' },
  remoteUser: 'dev',
});
const DOCKERFILE = `FROM leash/base:latest
RUN useradd --create-home --home-dir /home/dev --uid 1234 dev
`;

describe('an agent as a non-root devcontainer user', { skip: agentSkip() }, () => {
  const ws = makeWorkspace({
    '.devcontainer/devcontainer.json': DEVCONTAINER,
    '.devcontainer/Dockerfile': DOCKERFILE,
  });
  // The user (uid 1234) writes in the workspace, as a developer's own user would.
  fs.chmodSync(ws, 0o777);
  for (const f of ['notes-server.js', 'client.js']) {
    fs.copyFileSync(path.join(FIXTURES, f), path.join(ws, f));
  }
  // The governed server runs on the host's Node, copied in (the base image has none).
  fs.copyFileSync(process.execPath, path.join(ws, 'node'));
  fs.chmodSync(path.join(ws, 'node'), 0o755);
  const serversFile = path.join(ws, 'mcp-servers.json');
  fs.writeFileSync(
    serversFile,
    JSON.stringify({
      notes: { command: [`${ws}/node`, `${ws}/notes-server.js`, `${ws}/calls.log`] },
    }),
  );
  const bench = new AgentBench(['--mcp-servers', serversFile]);
  before(() => bench.start());
  after(async () => {
    await bench.stop();
    const images = spawnSync(
      'docker',
      ['images', '-q', '--filter', 'reference=leash/devcontainer*'],
      {
        encoding: 'utf8',
      },
    ).stdout.trim();
    if (images) spawnSync('docker', ['rmi', '-f', ...images.split('\n')], { stdio: 'ignore' });
  });

  it('writes its configuration volume and calls a governed MCP tool through the shim', async () => {
    const run = path.join(ws, '.leash', 'run');
    fs.writeFileSync(
      path.join(ws, 'script.json'),
      JSON.stringify({
        server: ['node', `${run}/mcp-shim.js`, `${run}/mcp-${SESSION}.sock`, 'notes'],
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
          {
            send: {
              jsonrpc: '2.0',
              id: 1,
              method: 'tools/call',
              params: { name: 'read_note', arguments: { title: 'a' } },
            },
          },
        ],
      }),
    );
    fs.writeFileSync(
      path.join(ws, 'policy.cedar'),
      policyWithEcho() +
        '\n@id("notes-read")\npermit (principal, action == Leash::Action::"McpCall", ' +
        'resource == Leash::McpTool::"notes/read_note");\n',
    );
    bench.command =
      `id -un > ${ws}/who.txt; echo by-dev > "$CLAUDE_CONFIG_DIR/leash-marker"; ` +
      `node ${ws}/client.js ${ws}/script.json 2> ${ws}/client-err.txt`;

    const r = await bench.run(
      [
        '--json',
        '--name',
        SESSION,
        '--policy',
        path.join(ws, 'policy.cedar'),
        '--workspace',
        ws,
        'claude',
        '--',
        '-p',
        'Run the command you are given.',
      ],
      { ANTHROPIC_API_KEY: 'sk-ant-test-devuser' },
      600_000,
    );
    const context = `leash run: ${r.status}\n${r.stdout}\n${r.stderr}`;
    assert.equal(fs.readFileSync(path.join(ws, 'who.txt'), 'utf8'), 'dev\n', context);

    // The configuration volume is the user's: a new one is created owned by it.
    const [config] = configVolumes(agentProfile('claude'), ws, '/home/dev');
    assert.ok(config);
    const dir = volumeDir(config.name);
    assert.equal(fs.statSync(dir).uid, 1234);
    assert.equal(fs.readFileSync(path.join(dir, 'leash-marker'), 'utf8'), 'by-dev\n');

    // The MCP socket let the user in, and the call was judged and answered.
    const answers = fs
      .readFileSync(path.join(ws, 'answers.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { answer: { id?: number; result?: unknown } | null });
    const called = answers.find((a) => a.answer?.id === 1);
    assert.ok(called?.answer?.result, `${JSON.stringify(answers)}\n${context}`);
    const mcp = bench.daemon
      .events(r.session)
      .find((e) => e.kind === 'mcp' && e.resource === 'notes/read_note');
    assert.equal(mcp?.decision, 'allow');
    assert.deepEqual(mcp?.policies, ['notes-read']);
  });
});
