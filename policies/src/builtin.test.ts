import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinRules, compilePolicy, decideFile } from '.';

const OPEN = `
  @id("exec") permit (principal, action == Leash::Action::"Exec", resource);
  @id("all-files") permit (principal,
    action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"], resource);`;

describe('built-in rules', () => {
  it('forbid writing .leash in the workspace and the policy file', () => {
    assert.deepEqual(builtinRules({ workspace: '/w', policyFile: '/etc/leash/p.cedar' }), [
      {
        id: 'leash:builtin/workspace-leash-dir',
        effect: 'forbid',
        access: ['write'],
        match: [{ kind: 'prefix', value: '/w/.leash' }],
      },
      {
        id: 'leash:builtin/policy-file',
        effect: 'forbid',
        access: ['write'],
        match: [{ kind: 'exact', value: '/etc/leash/p.cedar' }],
      },
    ]);
  });

  it('hold against a policy that permits every file access', () => {
    const options = {
      session: 's',
      principals: ['a'],
      workspace: '/w',
      home: '/h',
      policyFile: '/p.cedar',
    };
    const p = compilePolicy(OPEN, 'p.cedar', options).ir?.principals.a ?? assert.fail('no IR');
    assert.deepEqual(decideFile(p, '/w/.leash/policy.cedar', 'write'), {
      decision: 'deny',
      policies: ['leash:builtin/workspace-leash-dir'],
    });
    assert.equal(decideFile(p, '/w/.leash', 'write').decision, 'deny');
    assert.equal(decideFile(p, '/p.cedar', 'write').decision, 'deny');
    assert.equal(decideFile(p, '/w/.leash/policy.cedar', 'read').decision, 'allow');
    assert.equal(decideFile(p, '/w/.leashrc', 'write').decision, 'allow');
  });
});
