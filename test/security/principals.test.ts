/**
 * One principal acting as another: in one sandbox, `reviewer` (started with `leash exec
 * --principal`) may read a secret and holds it open; the agent `shell` may not, and tries to
 * reach it through the reviewer's process instead: a re-open of its descriptor through /proc,
 * taking the descriptor with pidfd_getfd, and reading its memory through /proc/<pid>/mem.
 * Only the first is stopped today; the test keeps the other two as a known limitation.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, TestDaemon } from '../support/leashd';
import { WORKSPACE_RW_NO_EXEC } from '../support/policies';

const SECRET = 'principal-secret-8f31d2';

const POLICIES = `
@id("exec-system")
permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"/usr");

@id("tmp-rw")
permit (
  principal,
  action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
  resource in Leash::Dir::"/tmp"
);

@id("agent-no-secret")
forbid (
  principal == Leash::Agent::"shell",
  action == Leash::Action::"ReadFile",
  resource in Leash::Dir::"@workspace/secret.txt"
);
`;

/** The reviewer: reads the secret, keeps it open and in memory, says where, waits. */
const REVIEWER = String.raw`
open(my $f, '<', "$ARGV[0]/secret.txt") or die "reviewer cannot read the secret: $!";
my $secret = <$f>;
open(my $p, '>', '/tmp/reviewer.tmp') or die "pid file: $!";
print {$p} "$$ ", fileno($f), "\n";
close($p);
rename('/tmp/reviewer.tmp', '/tmp/reviewer') or die "rename: $!";
select(undef, undef, undef, 0.1) until -e '/tmp/done';
print "reviewer held ", length($secret), " bytes\n";
open(my $d, '>', '/tmp/reviewer-done') or die "done: $!";
`;

/** The agent: each way to the reviewer's secret, as `label=failed: …` or `label=leaked`. */
const AGENT = String.raw`
use strict;
use warnings;
select(undef, undef, undef, 0.1) until -e '/tmp/reviewer';
open(my $p, '<', '/tmp/reviewer') or die "pid file: $!";
# Numbers, not strings: syscall() passes a string as a pointer.
my ($pid, $fd) = map { $_ + 0 } split ' ', scalar(<$p>);
my $secret = $ARGV[0];
sub report { my ($label, $got) = @_;
  print "$label=", (defined $got && index($got, $secret) >= 0 ? 'leaked' : "failed: $!"), "\n" }

my $x;
report('proc-fd-reopen', open($x, '<', "/proc/$pid/fd/$fd") ? scalar(<$x>) : undef);

my $pidfd = syscall(434, $pid, 0);
my $taken = $pidfd >= 0 ? syscall(438, $pidfd, $fd, 0) : -1;
my $content;
if ($taken >= 0 && open(my $g, '<&=', $taken)) { sysseek($g, 0, 0); sysread($g, $content, 4096) }
report('pidfd-getfd', $content);

my $found;
if (open(my $maps, '<', "/proc/$pid/maps") && open(my $mem, '<', "/proc/$pid/mem")) {
  for (<$maps>) {
    next unless /^([0-9a-f]+)-([0-9a-f]+) rw/;
    no warnings 'portable';
    my ($from, $to) = (hex $1, hex $2);
    next if $to - $from > 64 << 20;
    my $chunk;
    sysseek($mem, $from, 0) or next;
    sysread($mem, $chunk, $to - $from) or next;
    if (index($chunk, $secret) >= 0) { $found = $secret; last }
  }
}
report('proc-mem', $found);
open(my $d, '>', '/tmp/done') or die "done: $!";
# The session ends with this program: let the reviewer finish first.
select(undef, undef, undef, 0.1) until -e '/tmp/reviewer-done';
`;

describe('one principal acting as another', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it("limitation: a principal reads another principal's secret through its process", async () => {
    // A re-open by path is judged by the opener's rules and denied, and seccomp refuses
    // ptrace, process_vm_readv and pidfd_getfd. But both principals run as one uid, so
    // /proc/<pid>/mem reads the reviewer's memory (writing it would make the reviewer act for
    // the agent). docs/threat-model.md and limitations.md list it.
    const ws = makeWorkspace({
      'secret.txt': `${SECRET}\n`,
      'reviewer.pl': REVIEWER,
      'agent.pl': AGENT,
    });
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, WORKSPACE_RW_NO_EXEC + POLICIES);
    const agent = daemon.cliAsync([
      ...['run', '--json', '--name', 'impostor', '--policy', policy, '--workspace', ws],
      ...['shell', '--', 'perl', `${ws}/agent.pl`, SECRET],
    ]);
    await daemon.waitForSession('impostor');
    const reviewer = daemon.cliAsync([
      ...['exec', 'impostor', '--principal', 'reviewer', '--'],
      ...['perl', `${ws}/reviewer.pl`, ws],
    ]);
    const [a, rv] = await Promise.all([agent.done, reviewer.done]);
    const out = `${a.stdout}\n${a.stderr}\n${rv.stdout}\n${rv.stderr}`;
    assert.match(rv.stdout, /^reviewer held \d+ bytes$/m, out);

    assert.equal(
      /^proc-fd-reopen=(.*)$/m.exec(a.stdout)?.[1],
      'failed: Operation not permitted',
      out,
    );
    assert.equal(/^pidfd-getfd=(.*)$/m.exec(a.stdout)?.[1], 'failed: Operation not permitted', out);
    assert.equal(/^proc-mem=(.*)$/m.exec(a.stdout)?.[1], 'leaked', out);

    const denied = daemon
      .events('impostor')
      .filter((e) => e.resource === `${ws}/secret.txt` && e.decision === 'deny');
    assert.ok(
      denied.some((e) => e.principal === 'shell'),
      'the re-open is a denial of shell',
    );
  });
});
