/**
 * Writing a protected file through APIs other than a writable open, and reaching a secret
 * through look-alike names, each tried from inside a real session under the default policy
 * (git hooks readable but not writable, `.env` files neither): the attacker program is perl,
 * calling the syscalls by number, since the base image has no compiler.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, TestDaemon } from '../support/leashd';

const HOOK = '#!/bin/sh\nexit 0\n';
const SECRET = 'SECRET=files-3a91c\n';

/**
 * Each attempt prints `name=succeeded` or `name=failed: <errno text>`. x86_64 numbers:
 * openat 257, linkat 265, mmap 9, copy_file_range 326, sendfile 40, ftruncate 77.
 */
const WRITE_ATTEMPTS = String.raw`
use strict;
use warnings;
use Fcntl;

my $ws = shift;
my $hook = "$ws/.git/hooks/pre-commit";
my $new_hook = "$ws/.git/hooks/post-checkout";
sub report { my ($name, $ok) = @_; print "$name=", ($ok ? 'succeeded' : "failed: $!"), "\n" }

# An unnamed file (O_TMPFILE) written where writing is allowed, then given a hook's name.
my $O_TMPFILE_WRONLY = 0x410000 | 1;
my $tmp = syscall(257, -100, $ws, $O_TMPFILE_WRONLY, 0755);
report('tmpfile-open', $tmp >= 0);
if ($tmp >= 0) {
  open(my $t, '>&=', $tmp) or die "fdopen: $!";
  print {$t} "#!/bin/sh\necho evil\n";
  $t->flush;
  my $empty = '';
  report('tmpfile-link-empty-path', syscall(265, $tmp, $empty, -100, $new_hook, 0x1000) == 0);
  my $by_proc = syscall(265, -100, "/proc/self/fd/$tmp", -100, $new_hook, 0x400);
  report('tmpfile-link-proc-fd', $by_proc == 0);
}
# An unnamed file in the protected directory itself.
report('tmpfile-in-hooks', syscall(257, -100, "$ws/.git/hooks", $O_TMPFILE_WRONLY, 0755) >= 0);

# A read-only descriptor of the hook, and what might write through it.
sysopen(my $ro, $hook, O_RDONLY) or die "read-only open of the hook: $!";
my $fd = fileno($ro);
report('mmap-shared-write', syscall(9, 0, 4096, 3, 1, $fd, 0) != -1);
open(my $evil, '<', "$ws/evil") or die "evil: $!";
report('copy-file-range', syscall(326, fileno($evil), 0, $fd, 0, 64, 0) > 0);
report('sendfile', syscall(40, $fd, fileno($evil), 0, 64) > 0);
report('ftruncate', syscall(77, $fd, 0) == 0);
report('reopen-proc-fd-write', sysopen(my $w, "/proc/self/fd/$fd", O_WRONLY | O_APPEND));
report('reopen-dev-fd-write', sysopen(my $w2, "/dev/fd/$fd", O_RDWR));
# O_TRUNC with a read-only access mode still truncates on Linux.
report('rdonly-trunc', sysopen(my $tr, $hook, O_RDONLY | O_TRUNC));
`;

describe('writes through other APIs and look-alike names', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  function attempt(ws: string, script: string) {
    const r = daemon.script(ws, script);
    const results: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/^([\w-]+)=(.*)$/gm)) results[m[1]!] = m[2]!;
    return { ...r, results };
  }

  it('cannot write a protected file through O_TMPFILE, mmap, copy_file_range or a re-open', () => {
    const ws = makeWorkspace({
      '.git/hooks/pre-commit': HOOK,
      evil: '#!/bin/sh\necho evil\n',
      'attack.pl': WRITE_ATTEMPTS,
    });
    const hook = path.join(ws, '.git/hooks/pre-commit');
    const r = attempt(ws, `perl ${ws}/attack.pl ${ws}`);
    const out = `${r.stdout}\n${r.stderr}`;
    // Making an unnamed file where writing is allowed is fine; naming it is not.
    assert.equal(r.results['tmpfile-open'], 'succeeded', out);
    assert.equal(r.results['tmpfile-link-empty-path'], 'failed: Operation not permitted', out);
    assert.equal(r.results['tmpfile-link-proc-fd'], 'failed: Operation not permitted', out);
    assert.match(r.results['tmpfile-in-hooks'] ?? '', /^failed: /, out);
    assert.equal(r.results['mmap-shared-write'], 'failed: Permission denied', out);
    assert.equal(r.results['copy-file-range'], 'failed: Bad file descriptor', out);
    assert.equal(r.results['sendfile'], 'failed: Bad file descriptor', out);
    assert.match(r.results['ftruncate'] ?? '', /^failed: (Invalid argument|Bad file descriptor)$/);
    assert.equal(r.results['reopen-proc-fd-write'], 'failed: Operation not permitted', out);
    assert.equal(r.results['reopen-dev-fd-write'], 'failed: Operation not permitted', out);
    assert.equal(r.results['rdonly-trunc'], 'failed: Operation not permitted', out);

    assert.equal(fs.readFileSync(hook, 'utf8'), HOOK, 'the hook is unchanged');
    assert.deepEqual(fs.readdirSync(path.dirname(hook)), ['pre-commit']);
    const denied = r.events.filter(
      (e) => e.kind === 'file' && e.decision === 'deny' && e.resource === hook,
    );
    assert.ok(denied.length >= 3, JSON.stringify(r.events, null, 1));
    assert.ok(denied.every((e) => (e.policies as string[]).includes('workspace-protected')));
  });

  it('writes none of the files mounted into the sandbox from the host', () => {
    // Docker's own per-container files and leashd's trust bundle are mounts of host files.
    const ws = makeWorkspace();
    const files = [
      '/etc/hosts',
      '/etc/resolv.conf',
      '/etc/hostname',
      '/etc/ssl/certs/ca-certificates.crt',
      '/usr/local/share/ca-certificates/leash-ca.crt',
      '/.leash-launch',
    ];
    const r = attempt(
      ws,
      files
        .map((f) => `(echo x >> ${f}) 2>/dev/null && echo "${f}=written" || echo "${f}=refused"`)
        .join('; ') + '; cat /etc/resolv.conf',
    );
    for (const f of files) {
      assert.match(r.stdout, new RegExp(`^${f}=refused$`, 'm'), r.stdout + r.stderr);
    }
    assert.doesNotMatch(r.stdout, /^x$/m);
    const denied = r.events.filter((e) => e.decision === 'deny').map((e) => e.resource);
    for (const f of files.slice(0, 3)) assert.ok(denied.includes(f), `${f}: ${denied.join(' ')}`);
  });

  it('leaves no unjudged scratch area: the cgroup mount is read-only', () => {
    // On cgroup v1 hosts Docker mounts a tmpfs over /sys/fs/cgroup that fanotify does not
    // mark; the sandbox gets it read-only, so nothing can be written there unjudged.
    const ws = makeWorkspace();
    const r = attempt(
      ws,
      'echo data > /sys/fs/cgroup/scratch 2>/dev/null && echo "written=yes" || echo "written=no"; ' +
        'echo data > /sys/x 2>/dev/null || echo "sys=refused"',
    );
    assert.equal(r.results.written, 'no', r.stdout + r.stderr);
    assert.equal(r.results.sys, 'refused');
  });

  it('reads no secret through a name that only looks like it', () => {
    const ws = makeWorkspace({ '.env': SECRET });
    // Upper case, a Cyrillic "е", a zero-width space, a trailing dot and a trailing slash.
    const names = ['.ENV', '.\u0435nv', '.env\u200b', '.env.', '.env/', './.env', 'x/../.env'];
    const r = attempt(
      ws,
      `mkdir -p ${ws}/x; cd ${ws}; ` +
        names
          .map((n, i) => `cat '${n}' >/dev/null 2>&1 && echo "n${i}=read" || echo "n${i}=no"`)
          .join('; ') +
        `; cat .env 2>&1 | sed 's/.*: /direct: /'`,
    );
    for (let i = 0; i < names.length; i++) assert.equal(r.results[`n${i}`], 'no', names[i]);
    assert.match(r.stdout, /^direct: Operation not permitted$/m);
    assert.ok(!r.stdout.includes('files-3a91c'));
    // The filesystem does not fold case or normalise names: the look-alikes are other names.
    assert.equal(fs.existsSync(path.join(ws, '.ENV')), false);
    const denied = r.events.filter((e) => e.decision === 'deny' && e.resource === `${ws}/.env`);
    assert.ok(denied.length >= 3, 'the ./ and .. spellings and the direct read are denied');
  });
});
