/** Codex, Gemini CLI, Qwen Code and OpenCode in real sessions on the default policy, each
 *  talking to its own API host through leashd's proxy, where a stand-in of its model API on
 *  loopback has it run one shell command in the sandbox and sees the caller's real key. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace } from '../support/leashd';
import { AgentBench, agentSkip, API_HOSTS, type StubRequest } from './agents-harness';

interface AgentCase {
  agent: string;
  title: string;
  /** The variable of its key, and how the key must arrive at its API host. */
  key: string;
  host: string;
  header: (q: StubRequest) => string | null;
  wire: (key: string) => string;
  /** Arguments after `--`, the CLI's environment and workspace files beyond the defaults. */
  args: string[];
  env?: Record<string, string>;
  files?: Record<string, string>;
}

const PROMPT = 'Run the command you are given.';

const CASES: AgentCase[] = [
  {
    agent: 'codex',
    title: 'Codex',
    key: 'OPENAI_API_KEY',
    host: API_HOSTS.openai,
    header: (q) => q.keys.authorization,
    wire: (k) => `Bearer ${k}`,
    // Its built-in provider as it is (a WebSocket to api.openai.com). A model it has no
    // metadata for gets the plain function tools, which the stand-in knows.
    args: ['exec', '--skip-git-repo-check', '-m', 'stub-model', PROMPT],
  },
  {
    agent: 'gemini',
    title: 'Gemini CLI',
    key: 'GEMINI_API_KEY',
    host: API_HOSTS.gemini,
    header: (q) => q.keys['x-goog-api-key'],
    wire: (k) => k,
    // A named model: the automatic choice asks a classifier model first.
    args: ['-m', 'gemini-2.5-flash', '-p', PROMPT],
  },
  {
    agent: 'qwen',
    title: 'Qwen Code',
    key: 'OPENAI_API_KEY',
    host: API_HOSTS.openai,
    header: (q) => q.keys.authorization,
    wire: (k) => `Bearer ${k}`,
    args: ['-p', PROMPT],
    env: { OPENAI_BASE_URL: `https://${API_HOSTS.openai}/v1`, OPENAI_MODEL: 'stub-model' },
  },
  {
    agent: 'opencode',
    title: 'OpenCode',
    key: 'OPENAI_API_KEY',
    host: API_HOSTS.openai,
    header: (q) => q.keys.authorization,
    wire: (k) => `Bearer ${k}`,
    args: ['run', PROMPT],
    // Its OpenAI-compatible provider (bundled with it), on the OpenAI host.
    files: {
      'opencode.json': JSON.stringify({
        provider: {
          'leash-test': {
            npm: '@ai-sdk/openai-compatible',
            name: 'Leash test',
            options: { baseURL: `https://${API_HOSTS.openai}/v1`, apiKey: '{env:OPENAI_API_KEY}' },
            models: { 'stub-model': { name: 'Stub', tool_call: true } },
          },
        },
        model: 'leash-test/stub-model',
      }),
    },
  },
];

describe('other agents in a session', { skip: agentSkip() }, () => {
  const bench = new AgentBench();
  before(() => bench.start());
  after(() => bench.stop());

  for (const c of CASES) {
    const name = `${c.title} runs a shell tool call in the sandbox; its key reaches its host only`;
    it(name, async (t) => {
      const realKey = `test-key-${c.agent}-52d8e1a7c3`;
      const ws = makeWorkspace({ '.env': 'API_TOKEN=planted-secret\n', ...c.files });
      const marker = path.join(ws, `from-${c.agent}.txt`);
      bench.command = `cat ${ws}/.env; env > ${ws}/tool-env.txt; echo ok > ${marker}`;
      const first = bench.requests.length;

      const r = await bench.run(['--json', '--workspace', ws, c.agent, '--', ...c.args], {
        [c.key]: realKey,
        ...c.env,
      });
      t.diagnostic(`${c.agent}: session started in ${r.startMs} ms, run took ${r.totalMs} ms`);
      const requests = bench.requests.slice(first);
      const context =
        `leash run: ${r.status}\n${r.stdout}\n${r.stderr}\n` +
        requests.map((q) => JSON.stringify(q)).join('\n');

      // The stand-in had it call its shell tool, which ran in the sandbox.
      assert.ok(fs.existsSync(marker), `no ${marker}; ${context}`);
      assert.equal(fs.readFileSync(marker, 'utf8'), 'ok\n');
      assert.ok(
        requests.some((q) => q.toolResult !== null),
        context,
      );

      // Every request that reached the stand-in carried the real key, put there by the proxy.
      for (const q of requests) assert.equal(c.header(q), c.wire(realKey), q.path);
      const events = bench.daemon.events(r.session);
      const refused = events
        .filter((e) => e.decision === 'deny' && (e.kind === 'http' || e.action === 'Resolve'))
        .map((e) => String(e.resource));
      t.diagnostic(`${c.agent}: hosts refused: ${[...new Set(refused)].join(', ') || 'none'}`);
      const api = events.find(
        (e) => e.kind === 'http' && e.resource === c.host && e.decision === 'allow',
      );
      assert.deepEqual(api?.policies, [`leash-agent-${c.agent}-${c.key}`], context);

      // The tool's read of the planted secret was denied by the policy, in the audit log, and
      // the model never saw the secret.
      const denial = events.find((e) => e.resource === path.join(ws, '.env'));
      assert.equal(denial?.decision, 'deny', context);
      assert.equal(denial?.principal, c.agent);
      assert.deepEqual(denial?.policies, ['env-files']);
      for (const q of requests) assert.doesNotMatch(q.toolResult ?? '', /planted-secret/);

      // The sandbox held the placeholder, never the key.
      const toolEnv = fs.readFileSync(path.join(ws, 'tool-env.txt'), 'utf8');
      assert.match(toolEnv, new RegExp(`^${c.key}=leash-placeholder-${c.agent}$`, 'm'));
      assert.ok(!toolEnv.includes(realKey));
    });
  }
});
