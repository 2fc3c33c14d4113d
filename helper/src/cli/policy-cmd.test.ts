import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..', '..');
const LEASH = join(ROOT, 'helper', 'bin', 'leash');
const DEFAULT = join(ROOT, 'policies', 'default.cedar');
const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';
const dir = mkdtempSync(join(tmpdir(), 'leash-policy-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function leash(...args: string[]) {
  const r = spawnSync(process.execPath, [LEASH, 'policy', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('leash policy check', () => {
  it('prints lint warnings as file:line:col and still exits 0', () => {
    const p = file(
      'broad.cedar',
      EXEC + '@id("all") permit (principal, action == Leash::Action::"WriteFile", resource);\n',
    );
    const r = leash('check', p);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^${p}:2:1: warning: permit "all" allows writing .* \\[L003\\]$`, 'm'),
    );
    assert.match(r.stdout, /ok \(1 warning\)/);
  });

  it('exits 1 on an error', () => {
    const r = leash(
      'check',
      file('bad.cedar', EXEC + '@id("x") permit (principal, action, resource) when { 1 };\n'),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.cedar:2:\d+: error: /);
  });
});

describe('leash policy compile', () => {
  it('prints the IR for the principals asked for', () => {
    const r = leash(
      'compile',
      DEFAULT,
      '--workspace',
      '/src/app',
      '--principal',
      'claude',
      '--principal',
      'shell',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      ir: {
        principals: Record<
          string,
          { files: Array<{ id: string; match: Array<{ value: string }> }> }
        >;
      };
    };
    assert.equal(out.ok, true);
    assert.deepEqual(Object.keys(out.ir.principals), ['claude', 'shell']);
    const protectedRule = out.ir.principals.claude?.files.find(
      (f) => f.id === 'workspace-protected',
    );
    assert.equal(protectedRule?.match[0]?.value, '/src/app/.git/hooks');
  });
});

describe('leash policy fmt', () => {
  it('rewrites a file with --write, keeping its comments', () => {
    const p = file(
      'messy.cedar',
      '// keep me\n@id("exec")   permit(principal,action==Leash::Action::"Exec",resource);\n',
    );
    const r = leash('fmt', '--write', p);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(p, 'utf8');
    assert.match(text, /^\/\/ keep me\n@id\("exec"\)\npermit \(\n {2}principal,/);
    assert.equal(leash('fmt', p).stdout, text);
  });

  it('leaves a file that does not parse untouched and says where', () => {
    const original = '@id("a") permit (principal,\n  action == Leash::Action::"Exec" resource);\n';
    const p = file('broken.cedar', original);
    const r = leash('fmt', '--write', p);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broken\.cedar:2:\d+: error: .*\[parse\]/);
    assert.equal(readFileSync(p, 'utf8'), original);
  });
});

describe('leash policy explain', () => {
  const request = (principal: string, action: string, resource: string) =>
    JSON.stringify({ principal, action, resource });

  it('names the determining policies from the IR and from Cedar', () => {
    const r = leash(
      'explain',
      DEFAULT,
      '--request',
      request('shell', 'ReadFile', '/etc/hosts'),
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.decision, 'allow');
    assert.deepEqual(out.ir, { decision: 'allow', policies: ['system-read'] });
    assert.deepEqual(out.cedar, out.ir);
    assert.equal(out.agree, true);
  });

  it('offers the smallest permit for a default deny, checked to allow it', () => {
    const r = leash('explain', DEFAULT, '--request', request('codex', 'Connect', '[fd00::7]:5432'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deny by default/);
    assert.match(r.stdout, /checked: with it, the request is allowed/);
    assert.match(r.stdout, /principal == Leash::Agent::"codex"/);
    assert.match(r.stdout, /resource\.ip == ip\("fd00::7"\) && resource\.port == 5432/);
  });

  it('escapes a path that tries to close the string in the suggested permit', () => {
    const path = '/tmpx/a"); permit (principal, action, resource); \\';
    const r = leash('explain', DEFAULT, '--request', request('shell', 'WriteFile', path), '--json');
    const out = JSON.parse(r.stdout);
    assert.equal(out.fix.kind, 'permit');
    assert.equal(out.fix.verified, true);
    assert.ok(out.fix.policy.includes('resource == Leash::File::"/tmpx/a\\"); permit'));
  });

  it('points at the forbid that decided, and says a built-in rule cannot be lifted', () => {
    const r = leash(
      'explain',
      DEFAULT,
      '--request',
      request('shell', 'WriteFile', '/workspace/.leash/p.cedar'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /change or narrow forbid "workspace-protected" at .*default\.cedar:\d+:1/,
    );
    assert.match(r.stdout, /leash:builtin\/workspace-leash-dir is a built-in rule/);
  });

  it('refuses a malformed request with what to write', () => {
    const r = leash('explain', DEFAULT, '--request', request('shell', 'Connect', '10.0.0.1'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not an endpoint: write "10\.0\.0\.1:443"/);
  });
});

describe('leash policy test', () => {
  it('passes the default policy examples, one line per example', () => {
    const r = leash('test', DEFAULT);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^pass 1 .*default\.examples\.json:2:3 shell Exec \/usr\/bin\/git → allow$/m,
    );
    assert.match(r.stdout, /\d+ passed, 0 failed/);
  });

  it('fails with the position of a failing example', () => {
    const p = file('mine.cedar', EXEC);
    file(
      'mine.examples.json',
      '[\n  {"request": {"principal": "a", "action": "Exec", "resource": "/bin/sh"}, "expect": "allow"},\n  {"request": {"principal": "a", "action": "ReadFile", "resource": "/x"}, "expect": "allow"}\n]\n',
    );
    const r = leash('test', p);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^pass 1 /m);
    assert.match(
      r.stdout,
      /^FAIL 2 .*mine\.examples\.json:3:3 a ReadFile \/x → allow: Cedar decides deny; the IR decides deny$/m,
    );
    assert.match(r.stdout, /1 passed, 1 failed/);
  });
});
