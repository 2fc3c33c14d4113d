import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPolicy, compilePolicy, formatDiagnostic, type Diagnostic } from '.';

const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';

/** The 1-based range of the first occurrence of `snippet` in `text`. */
function rangeOf(text: string, snippet: string, from = 0) {
  const start = text.indexOf(snippet, from);
  assert.ok(start >= 0, `snippet not in text: ${snippet}`);
  const pos = (offset: number) => {
    const before = text.slice(0, offset).split('\n');
    return { line: before.length, column: (before[before.length - 1] ?? '').length + 1 };
  };
  const a = pos(start);
  const b = pos(start + snippet.length);
  return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
}

function only(text: string): Diagnostic {
  const result = checkPolicy(text, 'p.cedar');
  assert.equal(result.ok, false);
  assert.equal(result.diagnostics.length, 1, JSON.stringify(result.diagnostics));
  return result.diagnostics[0] as Diagnostic;
}

/** Asserts one error with `code`, located exactly at `snippet`. */
function rejects(body: string, code: string, snippet: string, message?: RegExp, after = ''): void {
  const text = EXEC + body;
  const d = only(text);
  assert.equal(d.code, code, d.message);
  assert.equal(d.severity, 'error');
  const { line, column, endLine, endColumn } = d;
  assert.deepEqual(
    { line, column, endLine, endColumn },
    rangeOf(text, snippet, text.indexOf(after, EXEC.length)),
  );
  if (message) assert.match(d.message, message);
}

describe('checking ids and syntax', () => {
  it('reports a parse error at the offending token', () => {
    const text = '@id("a") permit (principal, actio, resource);';
    const d = only(text);
    assert.equal(d.code, 'parse');
    assert.deepEqual([d.line, d.column], [1, 29]);
  });

  it('refuses a policy without @id, at its effect', () => {
    rejects(
      'permit (principal, action == Leash::Action::"ReadFile", resource);',
      'missing-id',
      'permit',
      /@id/,
    );
  });

  it('refuses a repeated @id, at the second one', () => {
    const body =
      '@id("r") permit (principal, action == Leash::Action::"ReadFile", resource);\n' +
      '@id("w") permit (principal, action == Leash::Action::"WriteFile", resource);\n' +
      '@id("r") forbid (principal, action == Leash::Action::"ReadFile", resource);';
    const text = EXEC + body;
    const d = only(text);
    assert.equal(d.code, 'duplicate-id');
    assert.equal(d.line, 4);
    assert.equal(d.column, 1);
  });

  it('reports strict validation errors against the schema with their range', () => {
    const body =
      '@id("a") permit (principal, action == Leash::Action::"ReadFile", resource)\n' +
      '  when { resource.owner == "me" };';
    const d = only(EXEC + body);
    assert.match(d.message, /owner/);
    assert.deepEqual([d.line, d.column], [3, 10]);
  });

  it('refuses templates, at the slot', () => {
    rejects(
      '@id("t") permit (principal == ?principal, action, resource);',
      'template',
      '?principal',
    );
  });

  it('formats a diagnostic as file:line:column: severity: message [code]', () => {
    const d = only('permit (principal, action == Leash::Action::"ReadFile", resource);');
    assert.equal(formatDiagnostic(d), `p.cedar:1:1: error: ${d.message} [missing-id]`);
  });

  it('counts columns in characters, not bytes, after non-ASCII text', () => {
    const text =
      EXEC +
      '// é→\n@id("a") permit (principal, action == Leash::Action::"ReadFile", resource)\n' +
      '  when { resource.nom == "é" };';
    const d = only(text);
    assert.deepEqual([d.line, d.column], [4, 10]);
  });
});

describe('refusing what cannot be enforced exactly', () => {
  const read = (cond: string) =>
    `@id("p") permit (principal, action == Leash::Action::"ReadFile", resource)\n  when { ${cond} };`;
  const connect = (cond: string) =>
    `@id("p") permit (principal, action == Leash::Action::"Connect", resource)\n  when { ${cond} };`;

  it('refuses a wildcard in the middle of a path pattern', () => {
    rejects(read('resource.path like "/a*b"'), 'unsupported-pattern', 'resource.path like "/a*b"');
  });

  it('refuses a string prefix that is not a directory', () => {
    rejects(
      read('resource.path like "/work*"'),
      'unsupported-pattern',
      'resource.path like "/work*"',
      /Dir::"\/work"/,
    );
  });

  it('refuses a name prefix', () => {
    rejects(
      read('resource in Leash::Dir::"/etc" && resource.name like "test*"'),
      'unsupported-pattern',
      'resource.name like "test*"',
    );
  });

  it('refuses a relative Dir id, at the entity', () => {
    rejects(read('resource in Leash::Dir::"etc"'), 'path-not-normal', 'Leash::Dir::"etc"');
  });

  it('refuses a Dir id with a trailing slash or dots, in the scope too', () => {
    rejects(
      '@id("p") permit (principal, action == Leash::Action::"ReadFile",\n' +
        '  resource in Leash::Dir::"@workspace/../x");',
      'path-not-normal',
      'Leash::Dir::"@workspace/../x"',
    );
    rejects(read('resource in Leash::Dir::"/etc/"'), 'path-not-normal', 'Leash::Dir::"/etc/"');
  });

  it('refuses an unknown root', () => {
    rejects(read('resource in Leash::Dir::"@repo/src"'), 'unknown-root', 'Leash::Dir::"@repo/src"');
  });

  it('refuses a File id with a trailing slash or a root form', () => {
    rejects(read('resource == Leash::File::"/etc/"'), 'path-not-normal', 'Leash::File::"/etc/"');
    rejects(
      read('resource == Leash::File::"@home/.bashrc"'),
      'file-id-root',
      'Leash::File::"@home/.bashrc"',
      /resource in Leash::Dir::"@home\/.bashrc"/,
    );
  });

  it('refuses attributes and operators it does not model', () => {
    rejects(
      connect('resource has host && resource.host == "example.com"'),
      'unsupported-expression',
      'resource has host',
    );
    rejects(
      read('if resource.name == "a" then true else false'),
      'unsupported-expression',
      'if resource.name == "a"',
    );
  });

  it('refuses principal conditions, pointing at the variable', () => {
    rejects(
      read('principal == Leash::Agent::"claude"'),
      'unsupported-principal',
      'principal',
      /scope/,
      'when',
    );
  });

  it('refuses comparing an address with a range', () => {
    rejects(
      connect('resource.ip == ip("10.0.0.0/8")'),
      'ip-equals-range',
      'resource.ip == ip("10.0.0.0/8")',
      /isInRange/,
    );
  });

  it('refuses IPv4-mapped IPv6 literals, asking for the IPv4 form', () => {
    const text = EXEC + connect('resource.ip.isInRange(ip("::ffff:1.2.3.4"))');
    const d = only(text);
    assert.equal(d.line, 3);
  });

  it('refuses an IPv4-mapped range written in hexadecimal', () => {
    rejects(
      connect('resource.ip.isInRange(ip("::ffff:a00:0/104"))'),
      'ipv4-mapped',
      'ip("::ffff:a00:0/104")',
      /IPv4 form/,
    );
  });

  it('refuses Exec, HttpRequest and McpCall conditions it cannot model, at the expression', () => {
    rejects(
      '@id("x") permit (principal, action == Leash::Action::"Exec", resource)\n' +
        '  when { context.argv.contains(context.args) };',
      'argv-not-literal',
      'context.argv.contains(context.args)',
      /string literals/,
    );
    rejects(
      '@id("x") forbid (principal, action == Leash::Action::"HttpRequest", resource)\n' +
        '  when { context.path == context.method };',
      'unsupported-http',
      'context.path == context.method',
      /resource\.name like/,
    );
    rejects(
      '@id("x") forbid (principal, action == Leash::Action::"McpCall", resource)\n' +
        '  when { context.arguments == resource.name };',
      'unsupported-mcp',
      'context.arguments == resource.name',
    );
  });

  it('refuses an @inject_header secret reference with a bad name, at the annotation', () => {
    rejects(
      '@id("gh") @inject_header("Authorization: token ${secret:gh-token}")\n' +
        'permit (principal, action == Leash::Action::"HttpRequest", resource);',
      'inject-header-secret',
      '@inject_header',
      /letters, digits and "_"/,
    );
  });
});

describe('Exec without an unconditional permit', () => {
  it('compiles a policy set that permits Exec to nobody: every program is denied', () => {
    const text = '@id("r") permit (principal, action == Leash::Action::"ReadFile", resource);';
    const result = compilePolicy(text, 'p.cedar', {
      session: 's',
      workspace: '/w',
      home: '/h',
      principals: ['claude'],
    });
    assert.equal(result.ok, true);
    assert.deepEqual(result.ir?.principals.claude?.exec, []);
  });

  it('compiles Exec permits for the principals they name only', () => {
    const text =
      '@id("exec") permit (principal == Leash::Agent::"claude",\n' +
      '  action == Leash::Action::"Exec", resource);';
    const options = { session: 's', workspace: '/w', home: '/h' };
    const result = compilePolicy(text, 'p.cedar', { ...options, principals: ['claude', 'codex'] });
    assert.equal(result.ok, true);
    assert.equal(result.ir?.principals.claude?.exec.length, 1);
    assert.deepEqual(result.ir?.principals.codex?.exec, []);
  });
});
