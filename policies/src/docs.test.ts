import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkPolicy, compilePolicy } from '.';

const guide = readFileSync(join(__dirname, '..', '..', 'docs', 'policy.md'), 'utf8');
const examples = [...guide.matchAll(/```cedar\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

describe('the policy guide', () => {
  it('has worked examples that check and compile together, warning only where it says', () => {
    assert.ok(examples.length >= 4);
    const text = examples.join('\n');
    // The `https` example is broad on purpose, and the guide says so.
    const codes = checkPolicy(text, 'policy.md').diagnostics.map((d) => d.code);
    assert.deepEqual(codes, ['L003']);
    const options = { session: 's', principals: ['claude', 'codex'], workspace: '/w', home: '/h' };
    assert.equal(compilePolicy(text, 'policy.md', options).ok, true);
  });
});
