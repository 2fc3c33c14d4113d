import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  DEFAULT_POLICY_PATH,
  EXAMPLE_SESSION,
  parseExamples,
  policyAnnotations,
  runExamples,
} from '..';

const policy = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
const examplesFile = DEFAULT_POLICY_PATH.replace(/\.cedar$/, '.examples.json');
const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';

describe('policy examples', () => {
  it('pass for the default policy, checked against Cedar and the compiled rules', () => {
    const { examples, diagnostics } = parseExamples(
      readFileSync(examplesFile, 'utf8'),
      examplesFile,
    );
    assert.deepEqual(diagnostics, []);
    assert.ok(examples.length >= 20);
    const run = runExamples(policy, 'default.cedar', examples, EXAMPLE_SESSION);
    assert.deepEqual(
      run.results.filter((r) => !r.pass),
      [],
    );
    assert.equal(run.ok, true);
  });

  it('cover every policy of the default policy, and a default deny', () => {
    const { examples } = parseExamples(readFileSync(examplesFile, 'utf8'), examplesFile);
    const named = new Set(examples.flatMap((e) => e.policies ?? []));
    for (const id of policyAnnotations(policy).keys())
      assert.ok(named.has(id), `no example for ${id}`);
    assert.ok(examples.some((e) => e.expect === 'deny' && e.policies?.length === 0));
  });

  it('report a wrong expectation with its position and what each side decided', () => {
    const text = `[\n  {"request": {"principal": "a", "action": "ReadFile", "resource": "/x"}, "expect": "deny"},\n  {"request": {"principal": "a", "action": "ReadFile", "resource": "/x"},\n   "expect": "allow", "policies": ["other"]}\n]`;
    const { examples } = parseExamples(text, 'p.examples.json');
    const body =
      EXEC + '@id("r") permit (principal, action == Leash::Action::"ReadFile", resource);';
    const run = runExamples(body, 'p.cedar', examples, EXAMPLE_SESSION);
    assert.equal(run.ok, false);
    const [first, second] = run.results;
    assert.deepEqual([first?.line, first?.column, first?.pass], [2, 3, false]);
    assert.deepEqual(first?.problems, ['Cedar decides allow', 'the IR decides allow']);
    assert.deepEqual([second?.line, second?.pass], [3, false]);
    assert.match(second?.problems[0] ?? '', /names \[r\], expected \[other\]/);
  });

  it('refuse malformed examples with their position', () => {
    const text =
      '[\n {"request": {"principal": "a", "action": "Open", "resource": "/x"}, "expect": "deny"},\n {"request": {"principal": "a", "action": "Connect", "resource": "1.2.3.4"}, "expect": "deny"},\n {"request": {"principal": "a", "action": "ReadFile", "resource": "/x"}, "expect": "maybe"}\n]';
    const { examples, diagnostics } = parseExamples(text, 'p.examples.json');
    assert.equal(examples.length, 0);
    assert.deepEqual(
      diagnostics.map((d) => d.line),
      [2, 3, 4],
    );
    assert.match(diagnostics[0]?.message ?? '', /unknown action "Open"/);
    assert.match(diagnostics[1]?.message ?? '', /not an endpoint/);
    assert.equal(parseExamples('{', 'x.json').diagnostics[0]?.code, 'examples-json');
  });
});
