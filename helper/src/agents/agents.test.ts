import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { compilePolicy, decideHttp, DEFAULT_POLICY_PATH } from '@leash/policies';
import * as fs from 'node:fs';
import {
  agentEnv,
  agentImage,
  agentImageTag,
  agentPolicy,
  agentProfile,
  configBinds,
  keyHost,
  KNOWN_AGENTS,
  pinnedVersions,
} from './index';

const REPO = path.resolve(__dirname, '..', '..', '..');

describe('agent profiles', () => {
  it('give the same image tag as the build script', () => {
    const script = path.join(REPO, 'scripts', 'build-agent-image.sh');
    const fromScript = execFileSync('bash', [script, '--print-tag'], { encoding: 'utf8' }).trim();
    assert.equal(agentImageTag(), fromScript);
    assert.match(fromScript, /^leash\/agents:[0-9a-f]{12}$/);
  });

  it('exist for exactly the pinned agents, plus the shell', () => {
    const pinned = Object.keys(pinnedVersions().agents);
    assert.deepEqual([...KNOWN_AGENTS].sort(), ['shell', ...pinned].sort());
    for (const name of pinned) assert.equal(agentProfile(name).image, 'agents');
    assert.equal(agentImage(agentProfile('shell'), 'leash/base:latest'), 'leash/base:latest');
  });

  it('pass only the variables a profile names, and a placeholder instead of any key', () => {
    const caller = {
      ANTHROPIC_API_KEY: 'sk-real',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
      SECRET_TOKEN: 'x',
      HOME: '/home/user',
    };
    const env = agentEnv(agentProfile('claude'), caller, '/root');
    assert.equal(env.ANTHROPIC_API_KEY, 'leash-placeholder-claude');
    assert.equal(env.ANTHROPIC_BASE_URL, 'http://127.0.0.1:9');
    assert.equal(env.SECRET_TOKEN, undefined);
    assert.equal(env.HOME, undefined);
    for (const name of KNOWN_AGENTS) {
      const profile = agentProfile(name);
      for (const key of profile.apiKeys) assert.ok(!profile.callerEnv.includes(key.env), name);
    }
  });

  it('run Claude Code unattended: no prompts, updates, telemetry or extra traffic', () => {
    const claude = agentProfile('claude');
    assert.deepEqual(claude.command(['-p', 'hi']), [
      '/opt/agents/claude/bin/claude',
      '--dangerously-skip-permissions',
      '-p',
      'hi',
    ]);
    const env = agentEnv(claude, {}, '/home/dev');
    for (const key of [
      'IS_SANDBOX',
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
      'DISABLE_TELEMETRY',
      'DISABLE_ERROR_REPORTING',
      'DISABLE_AUTOUPDATER',
    ]) {
      assert.equal(env[key], '1', key);
    }
    assert.equal(claude.apiKeys[0]?.host, 'api.anthropic.com');
    assert.equal(env.CLAUDE_CONFIG_DIR, '/home/dev/.claude');
  });

  it('add a permit for the API host that injects the key only when leashd holds it', () => {
    const base = fs.readFileSync(DEFAULT_POLICY_PATH, 'utf8');
    const req = { host: 'api.anthropic.com', port: 443, method: 'POST', path: '/v1/messages' };
    const compile = (held: string[]) => {
      const text = base + agentPolicy(agentProfile('claude'), {}, held);
      const r = compilePolicy(text, 'p.cedar', {
        session: 's',
        principals: ['claude', 'mcp:notes'],
        workspace: '/w',
        home: '/root',
      });
      assert.deepEqual(
        r.diagnostics.filter((d) => d.severity === 'error'),
        [],
      );
      return r.ir?.principals ?? {};
    };
    const withKey = compile(['ANTHROPIC_API_KEY']);
    const claude = withKey.claude;
    assert.ok(claude);
    assert.deepEqual(decideHttp(claude, req), {
      decision: 'allow',
      policies: ['leash-agent-claude-ANTHROPIC_API_KEY'],
      inject: [
        {
          name: 'x-api-key',
          value: '${secret:ANTHROPIC_API_KEY}',
          policy: 'leash-agent-claude-ANTHROPIC_API_KEY',
        },
      ],
    });
    // Another host, and another principal of the session, get neither the permit nor the key.
    assert.equal(decideHttp(claude, { ...req, host: 'api.openai.com' }).decision, 'deny');
    const mcp = withKey['mcp:notes'];
    assert.ok(mcp);
    assert.equal(decideHttp(mcp, req).decision, 'deny');
    // Without the key held, the host is reachable and nothing is injected.
    const without = compile([]).claude;
    assert.ok(without);
    assert.equal(decideHttp(without, req).decision, 'allow');
    assert.deepEqual(decideHttp(without, req).inject, []);
  });

  it('move a key to the host of an https base URL only', () => {
    const [key] = agentProfile('qwen').apiKeys;
    assert.ok(key);
    assert.equal(keyHost(key, {}), 'api.openai.com');
    assert.equal(
      keyHost(key, { OPENAI_BASE_URL: 'https://llm.example.org/v1' }),
      'llm.example.org',
    );
    assert.equal(keyHost(key, { OPENAI_BASE_URL: 'http://llm.example.org/v1' }), 'api.openai.com');
    assert.equal(keyHost(key, { OPENAI_BASE_URL: 'https://127.0.0.1:8/v1' }), 'api.openai.com');
    assert.equal(keyHost(key, { OPENAI_BASE_URL: 'not a url' }), 'api.openai.com');
    const [codexKey] = agentProfile('codex').apiKeys;
    assert.ok(codexKey);
    assert.equal(
      keyHost(codexKey, { OPENAI_BASE_URL: 'https://llm.example.org' }),
      'api.openai.com',
    );
  });

  it('keep each agent configuration in a volume per agent and workspace', () => {
    const a = configBinds(agentProfile('opencode'), '/src/a', '/home/dev');
    assert.equal(a.length, 2);
    assert.match(
      a[0] ?? '',
      /^leash-opencode-[0-9a-f]{12}-config-opencode:\/home\/dev\/\.config\/opencode:rw$/,
    );
    assert.match(a[1] ?? '', /-local-share-opencode:\/home\/dev\/\.local\/share\/opencode:rw$/);
    assert.notDeepEqual(configBinds(agentProfile('opencode'), '/src/b', '/home/dev'), a);
    assert.notEqual(
      configBinds(agentProfile('claude'), '/src/a', '/root')[0]?.split(':')[0],
      configBinds(agentProfile('codex'), '/src/a', '/root')[0]?.split(':')[0],
    );
    assert.deepEqual(configBinds(agentProfile('shell'), '/src/a', '/root'), []);
  });

  it('run the shell command as given, and an interactive shell without one', () => {
    const shell = agentProfile('shell');
    assert.deepEqual(shell.command(['sh', '-c', 'true']), ['sh', '-c', 'true']);
    assert.deepEqual(shell.command([]), ['/bin/bash', '-l']);
  });

  it('refuse an unknown agent and name the known ones', () => {
    assert.throws(
      () => agentProfile('cursor'),
      /unknown agent cursor; known agents: shell, claude/,
    );
  });
});
