import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPolicy, compilePolicy, formatPolicy } from '.';

const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';
const READ = 'action == Leash::Action::"ReadFile"';
const SESSION = { session: 's', principals: ['claude'], workspace: '/w', home: '/h' };
/** Generous: a hang, not a slow machine, is what this catches. */
const BOUND_MS = 60_000;

/** `n` varied, valid statements: reads, forbids, connects, protected directories, exec, HTTP
 *  and MCP rules. */
export function statements(n: number): string {
  const out = [EXEC];
  for (let i = 0; i < n; i++) {
    const net = `10.${(i >> 8) & 255}.${i & 255}.0/24`;
    out.push(
      [
        `@id("r${i}") permit (principal, ${READ}, resource in Leash::Dir::"/data/d${i}");`,
        `@id("w${i}") forbid (principal, action == Leash::Action::"WriteFile", resource) ` +
          `when { resource.path like "*.k${i}" };`,
        `@id("c${i}") permit (principal == Leash::Agent::"claude", action == ` +
          `Leash::Action::"Connect", resource) when { resource.ip.isInRange(ip("${net}")) ` +
          `&& resource.port == ${1024 + (i % 5000)} };`,
        `@id("f${i}") forbid (principal, ${READ}, resource in Leash::Dir::"@workspace/p${i}") ` +
          `unless { resource.name == "ok${i}" };`,
        `@id("e${i}") forbid (principal, action == Leash::Action::"Exec", resource) ` +
          `when { resource.name == "t${i}" && context.argv.containsAny(["-x${i}", "--y"]) };`,
        `@id("h${i}") permit (principal, action == Leash::Action::"HttpRequest", resource) ` +
          `when { resource.name like "*.h${i}.example" && context.method == "GET" };`,
        `@id("m${i}") forbid (principal, action == Leash::Action::"McpCall", ` +
          `resource in Leash::McpServer::"s${i}") when { context.arguments like "*k${i}*" };`,
      ][i % 7] as string,
    );
  }
  return out.join('\n') + '\n';
}

/** Every entry point answers with diagnostics or a policy: no throw, no hang. */
function survives(name: string, text: string): void {
  const start = Date.now();
  const checked = checkPolicy(text, 'hostile.cedar');
  const compiled = compilePolicy(text, 'hostile.cedar', SESSION);
  const formatted = formatPolicy(text, 'hostile.cedar');
  for (const result of [checked, compiled, formatted]) {
    assert.ok(result.ok || result.diagnostics.some((d) => d.severity === 'error'), name);
    for (const d of result.diagnostics) assert.ok(d.line >= 1 && d.column >= 1, name);
  }
  assert.ok(Date.now() - start < BOUND_MS, `${name} took ${Date.now() - start} ms`);
}

const bytes = (...b: number[]): string => Buffer.from(b).toString('utf8');

describe('hostile policy text', () => {
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['only a comment', '// nothing'],
    [
      'deeply nested parentheses',
      EXEC +
        `@id("a") permit (principal, ${READ}, resource) when { ${'('.repeat(100_000)}true${')'.repeat(100_000)} };`,
    ],
    ['unclosed brackets', '('.repeat(50_000) + '['.repeat(50_000)],
    [
      'nesting just above the limit',
      EXEC +
        `@id("a") permit (principal, ${READ}, resource) when { ${'('.repeat(40)}true${')'.repeat(40)} };`,
    ],
    [
      'a long && chain',
      EXEC +
        `@id("a") permit (principal, ${READ}, resource) when { ${Array(5000).fill('resource.path == "/a"').join(' && ')} };`,
    ],
    [
      'a long ! chain',
      EXEC + `@id("a") permit (principal, ${READ}, resource) when { ${'!'.repeat(5000)}true };`,
    ],
    ['a huge comment', EXEC + '// ' + 'x'.repeat(5_000_000)],
    [
      'a huge string',
      EXEC +
        `@id("a") permit (principal, ${READ}, resource == Leash::File::"/${'a'.repeat(1_000_000)}");`,
    ],
    [
      'invalid UTF-8, decoded',
      bytes(0x40, 0xff, 0xfe, 0x69, 0x64, 0x28, 0x22, 0xc3, 0x28, 0x22, 0x29),
    ],
    ['an unpaired surrogate', EXEC + `@id("\ud800") permit (principal, ${READ}, resource);`],
    [
      'NUL bytes',
      EXEC + `@id("a\0") permit (principal, ${READ}, resource == Leash::File::"/a\0b");`,
    ],
    ['an unterminated string', EXEC + '@id("a) permit (principal, action, resource);'],
    [
      'binary noise',
      Array.from({ length: 20_000 }, (_, i) => String.fromCharCode((i * 7919) % 0xd7ff)).join(''),
    ],
    [
      'a huge set',
      EXEC +
        `@id("a") forbid (principal, ${READ}, resource) when { resource in [${Array(20_000).fill('Leash::Dir::"/a"').join(',')}] };`,
    ],
    [
      'a huge argv set',
      EXEC +
        `@id("a") forbid (principal, action == Leash::Action::"Exec", resource) when { context.argv.containsAny([${Array(20_000).fill('"-f"').join(',')}]) };`,
    ],
    [
      'a pattern of many wildcards',
      EXEC +
        `@id("a") forbid (principal, action == Leash::Action::"Exec", resource) when { context.args like "${'*a'.repeat(50_000)}" };`,
    ],
    [
      'a huge injected header with hostile characters',
      EXEC +
        `@id("a") @inject_header("X: ${'${secret:'.repeat(10_000)}\u{0}\r\n") permit (principal, action == Leash::Action::"HttpRequest", resource);`,
    ],
    ['a template slot', EXEC + `@id("a") permit (principal == ?principal, ${READ}, resource);`],
  ];
  for (const [name, text] of cases)
    it(`answers ${name} with diagnostics or a policy`, () => survives(name, text));

  it('refuses nesting beyond the limit before Cedar sees it, and Cedar still works after', () => {
    const deep =
      EXEC +
      `@id("a") permit (principal, ${READ}, resource) when { ${'('.repeat(500)}true${')'.repeat(500)} };`;
    assert.deepEqual(
      checkPolicy(deep, 'p.cedar').diagnostics.map((d) => d.code),
      ['too-deep'],
    );
    assert.equal(checkPolicy(EXEC, 'p.cedar').ok, true);
  });
});

describe('many statements', () => {
  for (const n of [1000, 10_000]) {
    it(`validates and compiles ${n} statements`, () => {
      const text = statements(n);
      let start = Date.now();
      const compiled = compilePolicy(text, 'many.cedar', SESSION);
      const compileMs = Date.now() - start;
      start = Date.now();
      const checked = checkPolicy(text, 'many.cedar');
      const checkMs = Date.now() - start;
      assert.equal(compiled.ok, true, JSON.stringify(compiled.diagnostics.slice(0, 3)));
      assert.equal(checked.ok, true);
      const ir = compiled.ir?.principals.claude;
      // Three of every seven statements are file rules, one each connect, exec, HTTP and MCP.
      assert.ok((ir?.files.length ?? 0) >= (3 * n) / 7);
      for (const rules of [ir?.connects, ir?.exec, ir?.http, ir?.mcp]) {
        assert.ok((rules?.length ?? 0) >= Math.floor(n / 7));
      }
      // Reported, not asserted: machines differ.
      console.log(
        `${n} statements: validate+compile ${compileMs} ms; check with lint ${checkMs} ms`,
      );
    });
  }
});
