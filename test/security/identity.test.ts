/**
 * The workload changing who or where it is, and reaching for what controls the sandbox, each
 * tried from inside a real session under the default policy: a new process name, a new
 * cgroup, new or other namespaces, and leashd's socket, CA key, secret store and the Docker
 * socket. Verdicts follow the session's cgroup, not anything the process says of itself.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';

const SECRET = 'SECRET=identity-7be05\n';

/** `label=reached` or `label=failed: …` per attempt; x86_64 numbers: prctl 157, setns 308. */
const CONTROL_ATTEMPTS = String.raw`
use strict;
use warnings;
use Fcntl;
use IO::Socket::UNIX;

sub report { my ($label, $ok) = @_; print "$label=", ($ok ? 'reached' : "failed: $!"), "\n" }
my ($ws, @sockets) = @ARGV;

# Take leashd's name, then try the secret under it.
my $name = 'leashd';
syscall(157, 15, $name, 0, 0, 0);
open(my $comm, '<', '/proc/self/comm') or die "comm: $!";
print 'comm=', scalar(<$comm>);
report('env-as-leashd', open(my $e, '<', "$ws/.env"));

# Another cgroup: no cgroup2 hierarchy (where the session's programs hang) is mounted, and
# the v1 hierarchies are read-only.
open(my $mi, '<', '/proc/self/mountinfo') or die "mountinfo: $!";
print 'cgroup2-mounts=', scalar(grep { / - cgroup2 / } <$mi>), "\n";
my $procs;
my $moved = open($procs, '>>', '/sys/fs/cgroup/pids/cgroup.procs') && syswrite($procs, "$$\n");
report('cgroup-move', $moved);
report('cgroup-mkdir', mkdir('/sys/fs/cgroup/pids/escape'));
open(my $cg, '<', '/proc/self/cgroup') or die "cgroup: $!";
print 'cgroup=', (grep { /^0::/ } <$cg>)[0];

# Other namespaces: init's (same container) and new ones.
for my $ns (qw(net mnt pid user cgroup)) {
  sysopen(my $f, "/proc/1/ns/$ns", O_RDONLY) or do { report("setns-$ns", 0); next };
  report("setns-$ns", syscall(308, fileno($f), 0) == 0);
}

# What controls the sandbox: none of it is in the sandbox's view.
for my $path (@sockets) {
  my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path);
  report("socket:$path", $s);
}
`;

describe('identity and control', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  function attempt(ws: string, command: string[]) {
    const r = daemon.cli(['run', '--json', '--workspace', ws, 'shell', '--', ...command]);
    const results: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/^([\w:./-]+)=(.*)$/gm)) results[m[1]!] = m[2]!;
    return { ...r, results, events: daemon.events(sessionOf(r.stderr)) };
  }

  it('keeps its verdicts whatever name, cgroup or namespace the workload tries to take', () => {
    const ws = makeWorkspace({ '.env': SECRET, 'control.pl': CONTROL_ATTEMPTS });
    const r = attempt(ws, ['perl', `${ws}/control.pl`, ws]);
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.results.comm, 'leashd', out);
    assert.equal(r.results['env-as-leashd'], 'failed: Operation not permitted', out);
    assert.equal(r.results['cgroup2-mounts'], '0', out);
    assert.equal(r.results['cgroup-move'], 'failed: Read-only file system', out);
    assert.match(r.results['cgroup-mkdir'] ?? '', /^failed: /, out);
    assert.equal(r.results.cgroup, '0::/', out);
    for (const ns of ['net', 'mnt', 'pid', 'user', 'cgroup']) {
      assert.equal(r.results[`setns-${ns}`], 'failed: Operation not permitted', `${ns}: ${out}`);
    }
    const read = r.events.find((e) => e.resource === `${ws}/.env`);
    assert.equal(read?.decision, 'deny');
    assert.deepEqual(read?.policies, ['env-files']);
    assert.equal(read?.comm, 'leashd', 'the log shows the name it took, and the verdict held');
    assert.equal(read?.principal, 'shell');
  });

  it("limitation: the workload can open its init's memory for writing", () => {
    // The init (`cat`, reading leashd's lifeline) runs as the workload's uid, and seccomp
    // refuses ptrace but not /proc/1/mem: the workload could keep the init from ending with
    // its lifeline. The keeper's cgroup.kill when leashd dies does not depend on it
    // (test/e2e/fail-closed.test.ts); docs/limitations.md, Fail closed.
    const ws = makeWorkspace();
    const r = attempt(ws, [
      ...['perl', '-e'],
      'open(my $m, "+<", "/proc/1/mem") ? print "init-mem=opened\n" : print "init-mem=$!\n"',
    ]);
    assert.equal(r.results['init-mem'], 'opened', r.stdout + r.stderr);
  });

  it("reaches neither leashd's socket, CA key and secret store nor the Docker socket", () => {
    const ws = makeWorkspace();
    const caKey = path.join(daemon.stateDir, 'ca.key');
    const secrets = path.join(daemon.stateDir, 'secrets.json');
    const set = daemon.cli(['secret', 'set', 'IDENTITY_KEY'], { input: 'v-identity-21c8\n' });
    assert.equal(set.status, 0, set.stderr);
    const before = { key: fs.readFileSync(caKey), secrets: fs.readFileSync(secrets) };
    const sockets = [
      daemon.socket,
      '/run/leash/leashd.sock',
      '/var/run/docker.sock',
      '/run/docker.sock',
      '/run/containerd/containerd.sock',
    ];
    const files = [caKey, secrets, path.join(daemon.stateDir, 'audit.db'), daemon.stateDir];
    const script =
      `perl ${ws}/control.pl ${ws} ${sockets.join(' ')}; ` +
      files
        .map(
          (f) =>
            `ls -d '${f}' >/dev/null 2>&1 && echo 'file:${f}=reached' || echo 'file:${f}=absent'`,
        )
        .join('; ') +
      `; grep -c -E 'docker|leash|containerd' /proc/net/unix | sed 's/^/unix-sockets=/'; ` +
      `grep -E 'docker.sock|leashd|${daemon.dir}' /proc/self/mountinfo | sed 's/^/mount: /'`;
    fs.writeFileSync(path.join(ws, 'control.pl'), CONTROL_ATTEMPTS);
    const r = attempt(ws, ['bash', '-c', script]);
    const out = `${r.stdout}\n${r.stderr}`;
    for (const s of sockets) {
      assert.equal(r.results[`socket:${s}`], 'failed: No such file or directory', `${s}: ${out}`);
    }
    for (const f of files) assert.equal(r.results[`file:${f}`], 'absent', `${f}: ${out}`);
    assert.equal(r.results['unix-sockets'], '0', out);
    // Of leashd's files only the trust bundle and the CA certificate are mounted, read-only.
    const mounts = r.stdout.split('\n').filter((l) => l.startsWith('mount: '));
    assert.equal(mounts.length, 2, out);
    for (const m of mounts)
      assert.match(m, /\/state\/sandbox\/(ca-certificates|leash-ca)\.crt .* ro[, ]/);
    assert.ok(!out.includes('v-identity-21c8'));
    assert.deepEqual(fs.readFileSync(caKey), before.key);
    assert.deepEqual(fs.readFileSync(secrets), before.secrets);
  });
});
