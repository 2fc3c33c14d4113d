import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import {
  agentEnv,
  agentImage,
  agentImageTag,
  agentProfile,
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
    const env = agentEnv(agentProfile('claude'), caller);
    assert.equal(env.ANTHROPIC_API_KEY, 'leash-placeholder-claude');
    assert.equal(env.ANTHROPIC_BASE_URL, 'http://127.0.0.1:9');
    assert.equal(env.SECRET_TOKEN, undefined);
    assert.equal(env.HOME, undefined);
    for (const name of KNOWN_AGENTS) {
      const profile = agentProfile(name);
      if (profile.apiKey) assert.ok(!profile.callerEnv.includes(profile.apiKey.env), name);
    }
  });

  it('run Claude Code unattended: no permission prompts, updates, telemetry or extra traffic', () => {
    const claude = agentProfile('claude');
    assert.deepEqual(claude.command(['-p', 'hi']), [
      '/opt/agents/claude/bin/claude',
      '--dangerously-skip-permissions',
      '-p',
      'hi',
    ]);
    const env = agentEnv(claude, {});
    for (const key of [
      'IS_SANDBOX',
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
      'DISABLE_TELEMETRY',
      'DISABLE_ERROR_REPORTING',
      'DISABLE_AUTOUPDATER',
    ]) {
      assert.equal(env[key], '1', key);
    }
    assert.equal(claude.apiKey?.host, 'api.anthropic.com');
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
