/**
 * The checker that keeps each policy's findings by its text must say exactly what
 * `leash policy check` says of the whole file, edit after edit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkPolicy, DEFAULT_POLICY_PATH, type Diagnostic } from '@leash/policies';
import { generator, policySet } from '@leash/policies/dist/compile/random-policies';
import { PolicyChecker } from './check';
import { builtinSchema, cedar } from './core';
import { policyOf } from './latency';

const schema = (() => {
  const answer = cedar.schemaToJson(builtinSchema());
  if (answer.type !== 'success') throw new Error('the installed schema does not parse');
  return answer.json;
})();

/**
 * Cedar's validator lists its findings in hash order, different from call to call, and the
 * core keeps the first per range; so for `validation` the range and severity are compared,
 * and the message of every other finding.
 */
function comparable(diagnostics: Diagnostic[]): string[] {
  return diagnostics
    .map((d) => JSON.stringify(d.code === 'validation' ? { ...d, message: '' } : d))
    .sort();
}

function assertSame(checker: PolicyChecker, text: string, what: string): void {
  const want = checkPolicy(text, 'f.cedar');
  const got = checker.check(text, 'f.cedar');
  assert.equal(got.ok, want.ok, `${what}: ok`);
  assert.deepEqual(comparable(got.diagnostics), comparable(want.diagnostics), what);
}

const CASES: Record<string, string> = {
  'the default policy': readFileSync(DEFAULT_POLICY_PATH, 'utf8'),
  'schema errors, with a comment between policies': [
    '@id("a") permit (principal, action == Leash::Action::"ReadFile", resource)',
    '  when { resource.nope };',
    '// a comment',
    '@id("b") permit (principal, action == Leash::Action::"Readfile", resource);',
    '@id("c") permit (principal, action == Leash::Action::"ReadFile", resource)',
    '  when { resource.path == 3 };',
  ].join('\n'),
  'a duplicate and a missing @id': [
    '@id("a") permit (principal, action == Leash::Action::"ReadFile", resource);',
    '  @id("a") permit (principal, action == Leash::Action::"WriteFile", resource);',
    'permit (principal, action == Leash::Action::"ReadFile", resource);',
  ].join('\n'),
  'lint across policies and within one': [
    '@id("a") permit (principal, action == Leash::Action::"ReadFile",',
    '  resource in Leash::Dir::"/x");',
    '@id("b") forbid (principal, action, resource in Leash::Dir::"/");',
    '@id("c") permit (principal, action == Leash::Action::"Connect", resource)',
    '  when { resource.ip.isInRange(ip("0.0.0.0/0")) };',
    '@allways @id("d") permit (principal, action == Leash::Action::"ReadFile", resource)',
    '  when { resource.path == "/é/€/😀" };',
  ].join('\n'),
  'a policy that cannot be enforced exactly': [
    '@id("ok") permit (principal, action == Leash::Action::"Exec", resource);',
    '@id("a")',
    'permit (principal, action == Leash::Action::"Connect", resource)',
    '  when { resource.port > 3 + 4 };',
  ].join('\n'),
  'a parse error':
    '@id("a") permit (principal, action, resource);\n@id("b") permit (principal action, resource);',
  'text after the last policy': '@id("a") permit (principal, action, resource);\n@id("b") permit',
  'wide characters before findings': [
    '@id("é") permit (principal, action == Leash::Action::"ReadFile", resource)',
    '  when { resource.path == "😀" && resource.nope == 1 };',
    '@id("ü")',
    '  permit (principal, action == Leash::Action::"WriteFile", resource) when {',
    '  "😀😀" == resource.nah };',
  ].join('\n'),
  'a template slot': '@id("t") permit (principal == ?principal, action, resource);',
  'an empty file': '',
  'comments only': '// nothing yet\n',
};

describe('checking policy by policy', () => {
  for (const [what, text] of Object.entries(CASES)) {
    it(`says what leash policy check says: ${what}`, () => {
      assertSame(new PolicyChecker(() => schema), text, what);
    });
  }

  it('says what leash policy check says of 150 random files, one checker for all', () => {
    const checker = new PolicyChecker(() => schema);
    for (let seed = 1; seed <= 150; seed++) {
      const g = generator(seed);
      let text = '';
      for (const kind of ['file', 'connect', 'exec', 'http', 'mcp'] as const) {
        text += `${policySet(g, kind).replace(/@id\("/g, `@id("${kind}-`)}\n`;
      }
      // Every fifth file loses an @id, repeats one, or misspells an action.
      if (seed % 5 === 1) text = text.replace(/@id\("[^"]*"\)/, '');
      const id = /@id\("([^"]*)"\)/.exec(text)?.[1];
      if (seed % 5 === 2) text += `\n@id("${id}") permit (principal, action, resource);`;
      if (seed % 5 === 3) text = text.replace('"ReadFile"', '"Readfile"');
      assertSame(checker, text, `random file ${seed}`);
    }
  });

  it('says the same after each edit: change, break, duplicate, move, shadow', () => {
    const checker = new PolicyChecker(() => schema);
    const text = policyOf(300);
    const shadow =
      '@id("no-d150") forbid (principal, action == Leash::Action::"ReadFile", ' +
      'resource in Leash::Dir::"/data/d150");\n';
    const steps = [
      text,
      text.replace('"/data/d150"', '"/data/changed"'),
      text.replace('"/data/d150"', '"/data/changed"').replace('"*.x151"', '3'),
      text.replace('@id("p200")', '@id("p100")'),
      text.replace(/^(@id\("p3"\).*)\n/m, '').concat(text.split('\n')[3] as string, '\n'),
      `// a new first line\n${text}`,
      // A write forbid edited: the read permits' findings stand.
      text.replace('"*.x151"', '"*.y151"'),
      // A forbid that leaves a permit without effect (L001), then the permit edited, then gone.
      `${shadow}${text}`,
      `${shadow}${text.replace('@id("p150")', '@id("p150-renamed")')}`,
      `${shadow}// moved down\n${text}`,
      text,
    ];
    steps.forEach((step, i) => assertSame(checker, step, `step ${i}`));
  });
});
