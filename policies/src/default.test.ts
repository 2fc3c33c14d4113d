import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkPolicy, compilePolicy, decideConnect, decideFile, DEFAULT_POLICY_PATH } from '.';
import { differential } from './differential';
import { ENDPOINTS, PATHS } from './requests';

const text = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
const session = {
  session: 's1',
  principals: ['claude', 'shell'],
  workspace: '/workspace',
  home: '/home/agent',
};

function ir() {
  const result = compilePolicy(text, 'default.cedar', session);
  assert.deepEqual(result.diagnostics, []);
  const claude = result.ir?.principals.claude;
  assert.ok(claude);
  return claude;
}

describe('the default policy', () => {
  it('passes the checker without diagnostics', () => {
    assert.deepEqual(checkPolicy(text, 'default.cedar'), { ok: true, diagnostics: [] });
  });

  it('compiles for every principal, with exec allowed and the built-in rules appended', () => {
    const result = compilePolicy(text, 'default.cedar', session);
    assert.equal(result.ok, true);
    assert.deepEqual(Object.keys(result.ir?.principals ?? {}), ['claude', 'shell']);
    assert.deepEqual(result.ir?.principals.shell?.exec, [
      { id: 'exec-any', effect: 'permit', match: [] },
    ]);
    assert.match(result.ir?.hash ?? '', /^[0-9a-f]{64}$/);
    const ids = result.ir?.principals.claude?.files.map((r) => r.id) ?? [];
    assert.equal(ids[ids.length - 1], 'leash:builtin/workspace-leash-dir');
  });

  it('lets the agent read the system but not write it', () => {
    const p = ir();
    assert.deepEqual(decideFile(p, '/etc/passwd', 'read'), {
      decision: 'allow',
      policies: ['system-read'],
    });
    assert.deepEqual(decideFile(p, '/usr/bin/ls', 'write'), { decision: 'deny', policies: [] });
  });

  it('lets the agent change the workspace except its protected files', () => {
    const p = ir();
    assert.equal(decideFile(p, '/workspace/src/main.ts', 'write').decision, 'allow');
    assert.deepEqual(decideFile(p, '/workspace/.git/hooks/pre-commit', 'write'), {
      decision: 'deny',
      policies: ['workspace-protected'],
    });
    assert.equal(decideFile(p, '/workspace/.git/hooks/pre-commit', 'read').decision, 'allow');
    assert.equal(decideFile(p, '/workspace/.git/HEAD', 'write').decision, 'allow');
    assert.equal(decideFile(p, '/workspace/.claude/settings.json', 'write').decision, 'deny');
    for (const f of [
      '.git/modules/lib/hooks/post-checkout',
      '.git/modules/lib/config',
      '.husky/pre-commit',
      '.githooks/pre-push',
      '.envrc',
      'opencode.json',
    ]) {
      assert.deepEqual(decideFile(p, `/workspace/${f}`, 'write'), {
        decision: 'deny',
        policies: ['workspace-protected'],
      });
    }
  });

  it('does not confuse /work with /workspace', () => {
    const p = ir();
    assert.deepEqual(decideFile(p, '/work/file', 'write'), { decision: 'deny', policies: [] });
    assert.deepEqual(decideFile(p, '/workspace2/file', 'write'), {
      decision: 'deny',
      policies: [],
    });
  });

  it('hides home secrets and .env files', () => {
    const p = ir();
    assert.deepEqual(decideFile(p, '/home/agent/.ssh/id_ed25519', 'read'), {
      decision: 'deny',
      policies: ['home-secrets'],
    });
    assert.equal(decideFile(p, '/home/agent/.sshx/a', 'read').decision, 'allow');
    assert.deepEqual(decideFile(p, '/workspace/.env', 'read'), {
      decision: 'deny',
      policies: ['env-files'],
    });
    assert.equal(decideFile(p, '/workspace/prod.env', 'read').decision, 'deny');
    assert.equal(decideFile(p, '/workspace/.envrc', 'read').decision, 'allow');
  });

  it('keeps .leash unwritable twice: by the policy and by a built-in rule', () => {
    assert.deepEqual(decideFile(ir(), '/workspace/.leash/policy.cedar', 'write'), {
      decision: 'deny',
      policies: ['leash:builtin/workspace-leash-dir', 'workspace-protected'],
    });
  });

  it('allows connects to loopback only, IPv4-mapped addresses included', () => {
    const p = ir();
    assert.equal(decideConnect(p, '127.0.0.1', 8080).decision, 'allow');
    assert.equal(decideConnect(p, '::1', 443).decision, 'allow');
    assert.equal(decideConnect(p, '::ffff:127.0.0.2', 80).decision, 'allow');
    assert.deepEqual(decideConnect(p, '8.8.8.8', 53), { decision: 'deny', policies: [] });
  });

  it('decides exactly as Cedar does for a workspace beside the home directory', () => {
    const { mismatches, requests } = differential({
      text,
      ...session,
      paths: PATHS,
      endpoints: ENDPOINTS,
    });
    assert.deepEqual(mismatches, []);
    assert.ok(requests > 1000);
  });

  it('decides exactly as Cedar does for a workspace inside the home directory', () => {
    const nested = { ...session, principals: ['claude'], workspace: '/home/agent/proj' };
    const { mismatches } = differential({ text, ...nested, paths: PATHS, endpoints: [] });
    assert.deepEqual(mismatches, []);
  });
});
