import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { approvalsFile, approve, choosePolicy, policyPath, sha256 } from './policy-source';

function scratch(): { dir: string; approvals: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-ext-policy-'));
  return { dir, approvals: path.join(dir, 'config', 'leash', 'approved-policies.json') };
}

test('the default setting names .leash/policy.cedar in the workspace; absolute paths stay', () => {
  assert.equal(policyPath('/w', ''), '/w/.leash/policy.cedar');
  assert.equal(policyPath('/w', 'policies/p.cedar'), '/w/policies/p.cedar');
  assert.equal(policyPath('/w', '/etc/p.cedar'), '/etc/p.cedar');
});

test('approvals live in XDG_CONFIG_HOME like the CLI', () => {
  assert.equal(approvalsFile({ XDG_CONFIG_HOME: '/c' }), '/c/leash/approved-policies.json');
});

test('no policy file means the default policy', () => {
  const { dir, approvals } = scratch();
  assert.equal(choosePolicy(path.join(dir, 'none.cedar'), approvals).state, 'default');
});

test('a policy file is used only after its current text was approved', () => {
  const { dir, approvals } = scratch();
  const file = path.join(dir, 'policy.cedar');
  fs.writeFileSync(file, 'one');
  assert.deepEqual(choosePolicy(file, approvals), {
    state: 'unapproved',
    file,
    text: 'one',
    changed: false,
  });

  approve(file, 'one', approvals);
  assert.equal(choosePolicy(file, approvals).state, 'approved');
  assert.equal(JSON.parse(fs.readFileSync(approvals, 'utf8'))[file], sha256('one'));

  fs.writeFileSync(file, 'two');
  const changed = choosePolicy(file, approvals);
  assert.equal(changed.state, 'unapproved');
  assert.equal(changed.changed, true);
});

test('a broken approvals file is an error that names it', () => {
  const { dir, approvals } = scratch();
  const file = path.join(dir, 'policy.cedar');
  fs.writeFileSync(file, 'one');
  fs.mkdirSync(path.dirname(approvals), { recursive: true });
  fs.writeFileSync(approvals, '[1]');
  assert.throws(
    () => choosePolicy(file, approvals),
    /approved-policies\.json must hold a JSON object/,
  );
});
