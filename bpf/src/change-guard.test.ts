/**
 * The change supervisor against the real kernel: leash-launch starts a shell under the
 * seccomp filter on this host, the guard takes its listener, and the shell's renames,
 * removals, truncations and creations are judged by file rules and done by the guard.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FileRule } from '@leash/policies/dist/ir';
import { ChangeGuard, forbidsBelow, launcherPath, takeSeccompListener, type ChangeEvent } from '.';
import { requireKernel } from './kernel-test-support';

function rulesFor(dir: string): FileRule[] {
  return [
    { id: 'all-read', effect: 'permit', access: ['read'], match: [{ kind: 'prefix', value: '/' }] },
    {
      id: 'dir-write',
      effect: 'permit',
      access: ['write'],
      match: [{ kind: 'prefix', value: dir }],
    },
    {
      id: 'protected',
      effect: 'forbid',
      access: ['write'],
      match: [{ kind: 'prefix', value: `${dir}/.git/hooks` }],
    },
  ];
}

/** Runs `script` under leash-launch with `guard` supervising it; resolves with its output. */
async function launched(
  guard: ChangeGuard | undefined,
  cwd: string,
  script: string,
  onFirstOutput?: () => void,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(launcherPath, ['--', 'bash', '-c', script], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    if (stdout === '') onFirstOutput?.();
    stdout += d.toString();
  });
  const ready = new Promise<[number, number]>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^leash-launch ready (\d+) (\d+)\n/.exec(stderr);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    child.on('exit', () => reject(new Error(`leash-launch ended early: ${stderr}`)));
  });
  const [pid, fd] = await ready;
  if (guard) guard.addListener(takeSeccompListener(pid, fd));
  child.stdin.write('g');
  child.stdin.end();
  const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { status, stdout, stderr: stderr.replace(/^leash-launch ready.*\n/, '') };
}

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-change-'));
  fs.mkdirSync(path.join(dir, '.git', 'hooks'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git', 'hooks', 'pre-commit'), 'good\n');
  fs.writeFileSync(path.join(dir, 'a'), 'hello\n');
  return dir;
}

describe('ChangeGuard', () => {
  it('does allowed changes and refuses protected ones with EPERM', async (t) => {
    if (!requireKernel(t)) return;
    const dir = workspace();
    const events: ChangeEvent[] = [];
    const guard = new ChangeGuard({ rules: rulesFor(dir), onEvent: (e) => events.push(e) });
    try {
      const r = await launched(
        guard,
        dir,
        [
          'mv a b && echo mv-ok',
          'mkdir -p d/e && echo mkdir-ok',
          'ln -s b d/l && echo symlink-ok',
          'perl -e \'truncate("b", 2) or die "$!\\n"; print "truncate-ok\\n"\'',
          'rm d/l && rmdir d/e && echo rm-ok',
          'echo evil > h; mv -f h .git/hooks/pre-commit 2>&1 | sed "s/.*: //"',
          'mv .git/hooks .git/hooks.old 2>&1 | sed "s/.*: //"',
          'mv .git git-away 2>&1 | sed "s/.*: //"',
          'mkdir .git/hooks/new 2>&1 | sed "s/.*: //"',
          'rm .git/hooks/pre-commit 2>&1 | sed "s/.*: //"',
          'perl -e \'truncate(".git/hooks/pre-commit", 0) or print "truncate: $!\\n"\'',
        ].join('; '),
      );
      assert.equal(r.stderr, '');
      const lines = r.stdout.trim().split('\n');
      assert.deepEqual(lines.slice(0, 5), [
        'mv-ok',
        'mkdir-ok',
        'symlink-ok',
        'truncate-ok',
        'rm-ok',
      ]);
      for (const l of lines.slice(5)) assert.match(l, /Operation not permitted/);
      assert.equal(fs.readFileSync(path.join(dir, 'b'), 'utf8'), 'he');
      assert.equal(fs.readFileSync(path.join(dir, '.git/hooks/pre-commit'), 'utf8'), 'good\n');
      assert.equal(fs.existsSync(path.join(dir, '.git/hooks/new')), false);

      // mv may try more than one rename call for one move: compare the distinct denials.
      const denied = new Set(
        events
          .filter((e) => e.decision === 'deny')
          .map((e) => JSON.stringify([e.op, e.path, e.to, e.denied])),
      );
      assert.deepEqual(
        [...denied].map((d) => JSON.parse(d) as unknown[]),
        [
          ['rename', `${dir}/h`, `${dir}/.git/hooks/pre-commit`, `${dir}/.git/hooks/pre-commit`],
          ['rename', `${dir}/.git/hooks`, `${dir}/.git/hooks.old`, `${dir}/.git/hooks`],
          ['rename', `${dir}/.git`, `${dir}/git-away`, `${dir}/.git`],
          ['mkdir', `${dir}/.git/hooks/new`, null, `${dir}/.git/hooks/new`],
          ['unlink', `${dir}/.git/hooks/pre-commit`, null, `${dir}/.git/hooks/pre-commit`],
          ['truncate', `${dir}/.git/hooks/pre-commit`, null, `${dir}/.git/hooks/pre-commit`],
        ],
      );
    } finally {
      guard.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('judges chmod, chown, extended attributes and timestamps as writes, by path and descriptor', async (t) => {
    if (!requireKernel(t)) return;
    const dir = workspace();
    // Each call once by path and once by descriptor (a read-only one: enough for fchmod).
    fs.writeFileSync(
      path.join(dir, 'meta.pl'),
      String.raw`require "syscall.ph";
for my $f (@ARGV) {
  my ($p, $n, $v) = ($f, "user.leash", "v");
  my $r = sub { print "$_[0] ", ($_[1] ? "ok" : "$!"), "\n" };
  $r->("chmod", chmod(0600, $f));
  $r->("chown", chown(0, 0, $f));
  $r->("utimes", utime(1, 1, $f));
  $r->("setxattr", syscall(&SYS_setxattr, $p, $n, $v, 1, 0) == 0);
  $r->("removexattr", syscall(&SYS_removexattr, $p, $n) == 0);
  open(my $h, "<", $f) or die "$f: $!\n";
  $r->("fchmod", chmod(0600, $h));
  $r->("fchown", chown(0, 0, $h));
  $r->("futimens", utime(undef, undef, $h));
  $r->("fsetxattr", syscall(&SYS_fsetxattr, fileno($h), $n, $v, 1, 0) == 0);
}
`,
    );
    const hook = path.join(dir, '.git/hooks/pre-commit');
    fs.chmodSync(hook, 0o755);
    fs.utimesSync(hook, 1000, 1000);
    const events: ChangeEvent[] = [];
    const guard = new ChangeGuard({ rules: rulesFor(dir), onEvent: (e) => events.push(e) });
    try {
      const r = await launched(guard, dir, 'perl meta.pl a .git/hooks/pre-commit');
      assert.equal(r.stderr, '');
      const ops = ['chmod', 'chown', 'utimes', 'setxattr', 'removexattr'];
      const fdOps = ['fchmod', 'fchown', 'futimens', 'fsetxattr'];
      assert.deepEqual(r.stdout.trim().split('\n'), [
        ...[...ops, ...fdOps].map((op) => `${op} ok`),
        ...[...ops, ...fdOps].map((op) => `${op} Operation not permitted`),
      ]);
      const st = fs.statSync(hook);
      assert.equal(st.mode & 0o777, 0o755);
      assert.equal(st.mtimeMs, 1000_000);
      assert.equal(fs.statSync(path.join(dir, 'a')).mode & 0o777, 0o600);

      const judged = events.map((e) => `${e.op} ${e.path.slice(dir.length)} ${e.decision}`);
      for (const [file, decision] of [
        ['/a', 'allow'],
        ['/.git/hooks/pre-commit', 'deny'],
      ]) {
        for (const op of ['chmod', 'chown', 'utimes', 'setxattr', 'removexattr']) {
          assert.ok(judged.includes(`${op} ${file} ${decision}`), `${op} ${file}: ${judged}`);
        }
      }
      assert.equal(judged.filter((j) => j.endsWith('deny')).length, 9);
    } finally {
      guard.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('judges a descriptor chmod made from a thread that does not lead its process', async (t) => {
    if (!requireKernel(t)) return;
    const dir = workspace();
    fs.writeFileSync(
      path.join(dir, 'thread.pl'),
      String.raw`use threads;
for my $f (@ARGV) {
  threads->create(sub {
    open(my $h, "<", $f) or die "$f: $!\n";
    print "fchmod ", (chmod(0600, $h) ? "ok" : "$!"), "\n";
  })->join;
}
`,
    );
    const hook = path.join(dir, '.git/hooks/pre-commit');
    fs.chmodSync(hook, 0o755);
    const events: ChangeEvent[] = [];
    const guard = new ChangeGuard({ rules: rulesFor(dir), onEvent: (e) => events.push(e) });
    try {
      const r = await launched(guard, dir, 'perl thread.pl a .git/hooks/pre-commit');
      assert.equal(r.stderr, '');
      assert.deepEqual(r.stdout.trim().split('\n'), [
        'fchmod ok',
        'fchmod Operation not permitted',
      ]);
      assert.equal(fs.statSync(path.join(dir, 'a')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(hook).mode & 0o777, 0o755);
      const judged = events.map((e) => `${e.op} ${e.path.slice(dir.length)} ${e.decision}`);
      assert.deepEqual(judged, ['chmod /a allow', 'chmod /.git/hooks/pre-commit deny']);
    } finally {
      guard.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the intercepted calls with ENOSYS once the guard is gone', async (t) => {
    if (!requireKernel(t)) return;
    const dir = workspace();
    const guard = new ChangeGuard({ rules: rulesFor(dir), onEvent: () => undefined });
    const run = launched(
      guard,
      dir,
      'mv a b && echo before; while [ ! -e closed ]; do sleep 0.02; done; ' +
        'mv b c 2>&1 | sed "s/.*: //"; mv -f b .git/hooks/pre-commit 2>&1 | sed "s/.*: //"; ' +
        'rm b 2>&1 | sed "s/.*: //"',
      () => {
        guard.close();
        fs.writeFileSync(path.join(dir, 'closed'), '');
      },
    );
    const r = await run;
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'before',
      'Function not implemented',
      'Function not implemented',
      'Function not implemented',
    ]);
    assert.equal(fs.readFileSync(path.join(dir, 'b'), 'utf8'), 'hello\n');
    assert.equal(fs.readFileSync(path.join(dir, '.git/hooks/pre-commit'), 'utf8'), 'good\n');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the forbids that lie below a directory', () => {
    const rules = rulesFor('/w');
    assert.deepEqual(
      forbidsBelow(rules, '/w/.git').map((r) => r.id),
      ['protected'],
    );
    assert.deepEqual(forbidsBelow(rules, '/w/src'), []);
    assert.deepEqual(
      forbidsBelow(rules, '/w/.git/hooks/x').map((r) => r.id),
      ['protected'],
    );
  });
});
