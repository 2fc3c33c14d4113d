import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { policyAnnotations } from '../annotations';
import { authorize } from '../oracle';
import { DEFAULT_POLICY_PATH } from '../schema';
import { checkSuggestion } from './check';
import { seenFromEvents, suggestPolicy, SuggestError, type SuggestInput } from '.';
import type { SeenFile } from './seen';

const DEFAULT = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';
/** Reads under /usr only, nothing else: every workspace access needs a permit. */
const NARROW =
  EXEC +
  '@id("usr") permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/usr");\n';
/** NARROW, with the default policy's forbid of environment files. */
const GUARDED =
  NARROW +
  '@id("env") forbid (principal, action == Leash::Action::"ReadFile", resource) when { resource.name like "*.env" };\n';
const SESSION = { session: 's1', workspace: '/w', home: '/root' };

const read = (path: string): SeenFile => ({ principal: 'shell', path, access: 'read' });
const write = (path: string): SeenFile => ({ principal: 'shell', path, access: 'write' });

function suggest(files: SeenFile[], more: Partial<SuggestInput> = {}) {
  return suggestPolicy({
    files,
    connects: [],
    base: GUARDED,
    baseFile: 'base.cedar',
    ...SESSION,
    ...more,
  });
}

const allows = (text: string, action: 'ReadFile' | 'WriteFile', path: string): boolean =>
  authorize(text, { ...SESSION, principal: 'shell', action, path }).decision === 'allow';

describe('suggest: grouping', () => {
  it('turns three files of one access in a directory into that directory, with its @ form', () => {
    const s = suggest(['a', 'b', 'c'].map((n) => read(`/w/src/${n}.ts`)));
    assert.equal(s.ids.length, 1);
    assert.match(s.text, /resource in Leash::Dir::"@workspace\/src"/);
    assert.match(s.text, /ReadFile of 3 files seen in "\/w\/src"/);
  });

  it('keeps two files of a directory as exact files', () => {
    const s = suggest([read('/w/src/a.ts'), read('/w/src/b.ts')]);
    assert.doesNotMatch(s.text, /Leash::Dir::/);
    assert.match(s.text, /Leash::File::"\/w\/src\/a\.ts",\n\s+Leash::File::"\/w\/src\/b\.ts"/);
    assert.equal(allows(`${NARROW}\n${s.text}`, 'ReadFile', '/w/src/c.ts'), false);
  });

  it('never lets writes imply reads, nor reads writes', () => {
    const s = suggest([...['a', 'b', 'c'].map((n) => write(`/w/out/${n}`)), read('/w/in/x')]);
    const text = `${NARROW}\n${s.text}`;
    assert.equal(allows(text, 'WriteFile', '/w/out/d'), true);
    assert.equal(allows(text, 'ReadFile', '/w/out/a'), false);
    assert.equal(allows(text, 'WriteFile', '/w/in/x'), false);
  });

  it('folds files below a grouped directory into its policy', () => {
    const s = suggest([...['a', 'b', 'c'].map((n) => read(`/w/src/${n}`)), read('/w/src/lib/d')]);
    assert.equal(s.ids.length, 1);
    assert.match(s.text, /ReadFile of 4 files/);
  });

  it('uses @home for the home directory, and never groups at /', () => {
    const home = suggest(['a', 'b', 'c'].map((n) => write(`/root/.cache/${n}`)));
    assert.match(home.text, /Leash::Dir::"@home\/\.cache"/);
    const root = suggest(['a', 'b', 'c'].map((n) => read(`/${n}`)));
    assert.doesNotMatch(root.text, /Leash::Dir::/);
  });

  it('permits connects by exact address and port, IPv4-mapped as IPv4', () => {
    const s = suggest([], {
      connects: [
        { principal: 'shell', ip: '10.0.0.7', port: 5432 },
        { principal: 'shell', ip: '::ffff:10.0.0.7', port: 443 },
        { principal: 'shell', ip: 'fd00::1', port: 80 },
      ],
    });
    assert.match(
      s.text,
      /ip\("10\.0\.0\.7"\) && \(resource\.port == 443 \|\| resource\.port == 5432\)/,
    );
    assert.match(s.text, /ip\("fd00::1"\) && resource\.port == 80 \}/);
    const text = `${NARROW}\n${s.text}`;
    const connect = (ip: string, port: number) =>
      authorize(text, { ...SESSION, principal: 'shell', action: 'Connect', ip, port }).decision;
    assert.equal(connect('10.0.0.7', 5432), 'allow');
    assert.equal(connect('10.0.0.7', 5433), 'deny');
    assert.equal(connect('10.0.0.8', 443), 'deny');
  });

  it('suggests nothing for what the base allows already', () => {
    const s = suggest([read('/usr/lib/libc.so.6')]);
    assert.deepEqual(s.ids, []);
    assert.equal(s.alreadyAllowed, 1);
    assert.equal(s.text, '');
  });
});

describe('suggest: protected paths', () => {
  it('leaves out what the default policy and the built-in rules forbid, and says by what', () => {
    const s = suggest(
      [
        read('/w/.env'),
        write('/w/.git/hooks/pre-commit'),
        write('/w/.leash/policy.cedar'),
        read('/root/.ssh/id_rsa'),
        write('/srv/p.cedar'),
      ],
      { base: DEFAULT, policyFiles: ['/srv/p.cedar'] },
    );
    assert.deepEqual(s.ids, []);
    const reasons = Object.fromEntries(s.leftOut.map((l) => [l.resource, l.reason]));
    assert.equal(reasons['/w/.env'], 'forbidden by env-files');
    assert.equal(reasons['/w/.git/hooks/pre-commit'], 'forbidden by workspace-protected');
    assert.match(reasons['/w/.leash/policy.cedar'] ?? '', /leash:builtin\/workspace-leash-dir/);
    assert.equal(reasons['/root/.ssh/id_rsa'], 'forbidden by home-secrets');
    assert.equal(reasons['/srv/p.cedar'], 'forbidden by leash:builtin/policy-file');
    assert.match(
      s.text,
      /\/\/ not suggested: ReadFile "\/w\/\.env" by "shell", forbidden by env-files/,
    );
  });

  it('leaves out secrets and tool settings even when the base does not forbid them', () => {
    const s = suggest(
      [read('/w/prod.env'), read('/root/.aws/credentials'), write('/w/.vscode/settings.json')],
      { base: NARROW },
    );
    assert.deepEqual(s.ids, []);
    assert.deepEqual(
      s.leftOut.map((l) => l.reason),
      [
        'an environment file',
        'a secret-like path',
        'a workspace file that changes how tools or agents behave',
      ],
    );
  });

  it('does not group a directory whose secrets the base leaves unforbidden', () => {
    const s = suggest(
      ['a', 'b', 'c'].map((n) => read(`/w/cfg/${n}`)),
      { base: NARROW },
    );
    assert.doesNotMatch(s.text, /Leash::Dir::/, 'a Dir would open /w/cfg/.env');
    assert.equal(allows(`${NARROW}\n${s.text}`, 'ReadFile', '/w/cfg/.env'), false);

    const g = suggest(
      ['a', 'b', 'c'].map((n) => read(`/w/cfg/${n}`)),
      { base: GUARDED },
    );
    assert.match(g.text, /Leash::Dir::"@workspace\/cfg"/);
  });
});

describe('suggest: escaping', () => {
  const HOSTILE = [
    '/w/x"; permit (principal, action, resource); /*',
    '/w/back\\slash\\"',
    '/w/star*',
    '/w/line\nbreak @id("evil") permit(principal,action,resource);',
    '/w/cr\r/ comment',
    '/w/sep\u2028@id("x")',
    '/w/@workspace',
    '/w/nul\u0000byte',
    '/w/tab\tand\u007fdel',
    '/w/émoji-🦀',
  ];

  it('keeps every hostile path one exact resource, and adds no statement', () => {
    // One directory each, so that nothing is grouped.
    const files = HOSTILE.map((p, i) => read(p.replace('/w/', `/w/${i}/`)));
    const s = suggest(files);
    assert.equal(s.leftOut.length, 0);
    const text = `${NARROW}\n${s.text}`;
    assert.deepEqual([...policyAnnotations(text).keys()], ['exec', 'usr', ...s.ids]);
    for (const f of files) assert.equal(allows(text, 'ReadFile', f.path), true, f.path);
    for (const other of ['/w/2/starX', '/w/2/star', '/w/0/x', '/w/0/other', '/w/1/back', '/w/x']) {
      assert.equal(allows(text, 'ReadFile', other), false, other);
    }
    assert.equal(allows(text, 'WriteFile', files[0]?.path as string), false);
  });

  it('groups hostile names under a plain directory without widening anything else', () => {
    const files = ['"*', '\n', '*'].map((n) => write(`/w/d/${n}`));
    const s = suggest(files);
    assert.match(s.text, /Leash::Dir::"@workspace\/d"/);
    assert.equal(allows(`${NARROW}\n${s.text}`, 'WriteFile', '/w/dx'), false);
  });

  it('writes no raw line break, quote or non-ASCII character into a comment', () => {
    const s = suggest(HOSTILE.slice(3).map(read).concat(HOSTILE.slice(3, 6).map(write)), {
      base: DEFAULT,
    });
    for (const line of s.text.split('\n').filter((l) => l.startsWith('//'))) {
      assert.match(line, /^\/\/[\x20-\x7e]*$/, line);
    }
  });

  it('leaves out paths that are not absolute and normalised, or not valid Unicode', () => {
    const s = suggest([
      read('/w/x"; permit (principal, action, resource); //'),
      read('/w/../etc/shadow'),
      read('relative'),
      read('/w/a/'),
      read('/w/\ud800'),
    ]);
    assert.deepEqual(s.ids, []);
    assert.equal(s.leftOut.length, 5);
    assert.doesNotMatch(s.text, /^permit/m);
  });
});

describe('suggest: the check', () => {
  const input = {
    base: NARROW,
    baseFile: 'base.cedar',
    principals: ['shell'],
    session: { ...SESSION, policyFiles: [] },
    covered: [{ kind: 'file' as const, principal: 'shell', path: '/w/a', access: 'read' as const }],
    denied: [],
  };

  it('fails when a covered request is still denied', () => {
    const problems = checkSuggestion({ ...input, suggestion: '', ids: [] });
    assert.match(problems.join('\n'), /shell ReadFile "\/w\/a" is still denied/);
  });

  it('fails when the suggestion holds more policies than it says', () => {
    const suggestion =
      '@id("suggested-read-1") permit (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"/w/a");\n' +
      '@id("sneaky") permit (principal, action == Leash::Action::"WriteFile", resource);\n';
    const problems = checkSuggestion({ ...input, suggestion, ids: ['suggested-read-1'] });
    assert.match(problems.join('\n'), /holds 4 policies where 3 were written/);
  });

  it('fails when a path the base denies became allowed', () => {
    const suggestion =
      '@id("suggested-read-1") permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/w");\n';
    const problems = checkSuggestion({
      ...input,
      suggestion,
      ids: ['suggested-read-1'],
      denied: [{ kind: 'file', principal: 'shell', path: '/w/.env', access: 'read' }],
    });
    assert.match(
      problems.join('\n'),
      /shell ReadFile "\/w\/\.env" became allowed \(by suggested-read-1\)/,
    );
  });

  it('passes a suggestion that allows what it covers', () => {
    const suggestion =
      '@id("suggested-read-1") permit (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"/w/a");\n';
    assert.deepEqual(checkSuggestion({ ...input, suggestion, ids: ['suggested-read-1'] }), []);
  });

  it('refuses a base policy that does not compile, with its position', () => {
    assert.throws(
      () => suggest([read('/w/a')], { base: 'permit (principal, action, resource);' }),
      (err: unknown) => err instanceof SuggestError && /base\.cedar:1:1/.test(err.message),
    );
  });
});

describe('seenFromEvents', () => {
  const start = (mode: string) => ({
    kind: 'session',
    action: 'Start',
    mode,
    workspace: '/w',
    origin: '/p.cedar',
  });
  const file = (decision: string, path: string, access = 'read') => ({
    kind: 'file',
    principal: 'shell',
    decision,
    path,
    access,
  });

  it('takes every decision in record mode, splits readwrite, and deduplicates', () => {
    const seen = seenFromEvents([
      start('record'),
      file('allow', '/w/a'),
      file('allow', '/w/a'),
      file('would-deny', '/w/b', 'readwrite'),
      { kind: 'net', principal: 'shell', decision: 'allow', ip: '127.0.0.1', port: 9 },
    ]);
    assert.equal(seen.workspace, '/w');
    assert.equal(seen.policyFile, '/p.cedar');
    assert.equal(seen.events, 4);
    assert.deepEqual(
      seen.files.map((f) => `${f.path} ${f.access}`),
      ['/w/a read', '/w/b read', '/w/b write'],
    );
    assert.deepEqual(seen.connects, [{ principal: 'shell', ip: '127.0.0.1', port: 9 }]);
    assert.equal(seen.enforceOnly, false);
  });

  it('takes only denials from enforce mode, following mode switches', () => {
    const seen = seenFromEvents([
      start('enforce'),
      file('allow', '/w/a'),
      file('deny', '/w/b'),
      { kind: 'session', action: 'Mode', new: 'shadow' },
      file('allow', '/w/c'),
    ]);
    assert.deepEqual(
      seen.files.map((f) => f.path),
      ['/w/b', '/w/c'],
    );
    assert.deepEqual(seen.modes, ['enforce', 'shadow']);
    assert.equal(seen.enforceOnly, true);
  });
});

describe('suggest: programs, HTTP hosts and MCP tools', () => {
  const BASE =
    '@id("usr-bin") permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"/usr/bin");\n' +
    '@id("no-curl") forbid (principal, action == Leash::Action::"Exec", resource == Leash::File::"/usr/bin/curl");\n' +
    '@id("no-evil") forbid (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"evil.test");\n';
  const http = (host: string, port: number, method = 'GET') => ({
    principal: 'shell',
    host,
    port,
    method,
    path: '/v1/x',
  });

  it('permits each program, host (on the ports seen) and tool seen, and nothing a forbid denies', () => {
    const s = suggestPolicy({
      files: [],
      connects: [],
      execs: [
        { principal: 'shell', program: '/opt/tool/bin/run', argv: ['--fast'] },
        { principal: 'shell', program: '/usr/bin/ls', argv: [] },
        { principal: 'shell', program: '/usr/bin/curl', argv: ['evil.test'] },
      ],
      http: [
        http('api.example.test', 443),
        http('api.example.test', 8443, 'POST'),
        http('evil.test', 443),
      ],
      mcp: [{ principal: 'shell', server: 'files', tool: 'read_file', arguments: '{"p":1}' }],
      base: BASE,
      baseFile: 'base.cedar',
      ...SESSION,
    });
    assert.deepEqual(s.ids, ['suggested-exec-1', 'suggested-http-1', 'suggested-mcp-1']);
    assert.equal(s.alreadyAllowed, 1, '/usr/bin/ls is allowed by the base');
    assert.deepEqual(
      s.leftOut.map((l) => [l.action, l.resource, l.reason]),
      [
        ['Exec', '/usr/bin/curl', 'forbidden by no-curl'],
        ['HttpRequest', 'evil.test:443', 'forbidden by no-evil'],
      ],
    );
    const text = `${BASE}\n${s.text}`;
    const judge = (r: Record<string, unknown>): string =>
      authorize(text, { ...SESSION, principal: 'shell', ...r } as Parameters<typeof authorize>[1])
        .decision;
    assert.equal(judge({ action: 'Exec', path: '/opt/tool/bin/run', argv: [] }), 'allow');
    assert.equal(judge({ action: 'Exec', path: '/opt/tool/bin/other', argv: [] }), 'deny');
    assert.equal(judge({ action: 'Exec', path: '/usr/bin/curl', argv: [] }), 'deny');
    const req = (host: string, port: number) => ({
      action: 'HttpRequest',
      ...http(host, port, 'DELETE'),
    });
    assert.equal(judge(req('api.example.test', 8443)), 'allow');
    assert.equal(judge(req('api.example.test', 80)), 'deny');
    assert.equal(judge(req('evil.test', 443)), 'deny');
    const call = (tool: string) => ({ action: 'McpCall', server: 'files', tool, arguments: '{}' });
    assert.equal(judge(call('read_file')), 'allow');
    assert.equal(judge(call('write_file')), 'deny');
  });

  it('reads programs, requests and tool calls from audit events, skipping unnamed programs', () => {
    const seen = seenFromEvents([
      { kind: 'session', action: 'Start', mode: 'enforce', workspace: '/w', origin: '/p.cedar' },
      {
        kind: 'exec',
        action: 'Exec',
        decision: 'deny',
        principal: 'shell',
        resource: '/usr/bin/x',
        argv: ['-a'],
      },
      {
        kind: 'exec',
        action: 'Exec',
        decision: 'deny',
        principal: 'shell',
        resource: 'dynamic loader',
      },
      {
        kind: 'http',
        action: 'HttpRequest',
        decision: 'deny',
        principal: 'shell',
        resource: 'h.test',
        host: 'h.test',
        port: 443,
        method: 'PUT',
        path: '/a?b',
      },
      {
        kind: 'mcp',
        action: 'McpCall',
        decision: 'deny',
        principal: 'claude',
        server: 's',
        tool: 't',
      },
      { kind: 'mcp', action: 'Start', decision: '', principal: 'claude', server: 's' },
      {
        kind: 'exec',
        action: 'Exec',
        decision: 'allow',
        principal: 'shell',
        resource: '/usr/bin/y',
      },
    ]);
    assert.deepEqual(seen.execs, [{ principal: 'shell', program: '/usr/bin/x', argv: ['-a'] }]);
    assert.deepEqual(seen.http, [
      { principal: 'shell', host: 'h.test', port: 443, method: 'PUT', path: '/a?b' },
    ]);
    assert.deepEqual(seen.mcp, [{ principal: 'claude', server: 's', tool: 't', arguments: '{}' }]);
    assert.equal(seen.events, 3);
  });
});

describe('suggest: connects the proxy takes over', () => {
  it('ignores connects allowed by the built-in egress permit', () => {
    const seen = seenFromEvents([
      { kind: 'session', action: 'Start', mode: 'record', workspace: '/w', origin: '/p.cedar' },
      {
        kind: 'net',
        action: 'Connect',
        decision: 'allow',
        principal: 'shell',
        ip: '93.184.216.34',
        port: 443,
        policies: ['leash:builtin/egress'],
      },
      {
        kind: 'net',
        action: 'Connect',
        decision: 'allow',
        principal: 'shell',
        ip: '10.0.0.1',
        port: 22,
        policies: [],
      },
    ]);
    assert.deepEqual(seen.connects, [{ principal: 'shell', ip: '10.0.0.1', port: 22 }]);
  });
});
