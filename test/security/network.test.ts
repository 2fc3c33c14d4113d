/**
 * Sends the policy does not allow, tried from inside a real session under the default policy
 * (loopback only, besides the proxy's ports): other spellings of a denied address, unconnected
 * UDP, and socket kinds that bypass ports altogether (raw, ICMP, packet, vsock). The target is
 * a trap of the test's own on the bridge's gateway, so nothing would leave the machine even if
 * a send got through, and the test sees whether one did.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, sleep, TestDaemon } from '../support/leashd';

const GATEWAY = '172.17.0.1';

/** Connects (TCP) or sends (UDP) to each spelling; prints `label=reached` or `label=failed: …`.
 */
const SENDS = String.raw`
use strict;
use warnings;
use Socket qw(:all);
use IO::Socket::IP;
use IO::Socket::INET;

my ($tcp_port, $udp_port) = @ARGV;
sub report { my ($label, $ok) = @_; print "$label=", ($ok ? 'reached' : "failed: $!"), "\n" }

my %spellings = (
  dotted => '172.17.0.1', decimal => '2886795265', octal => '0254.021.0.01',
  hex => '0xac.0x11.0x0.0x1', short => '172.17.1',
);
for my $label (sort keys %spellings) {
  # Aim at the trap or nowhere: a spelling that means another address is a bug of this test.
  my $means = inet_aton($spellings{$label});
  die "$label does not spell 172.17.0.1\n" unless $means && inet_ntoa($means) eq '172.17.0.1';
  my $s = IO::Socket::INET->new(PeerAddr => $spellings{$label}, PeerPort => $tcp_port,
    Proto => 'tcp', Timeout => 3);
  report("tcp-$label", $s);
}
my $mapped = IO::Socket::IP->new(PeerHost => '::ffff:172.17.0.1', PeerPort => $tcp_port,
  Proto => 'tcp', Timeout => 3);
report('tcp-v4-mapped', $mapped);

socket(my $u, PF_INET, SOCK_DGRAM, 0) or die "udp socket: $!";
report('udp-sendto', send($u, 'leak', 0, pack_sockaddr_in($udp_port, inet_aton('172.17.0.1'))));
socket(my $u6, PF_INET6, SOCK_DGRAM, 0);
my $mapped_to = pack_sockaddr_in6($udp_port, inet_pton(AF_INET6, '::ffff:172.17.0.1'));
report('udp6-mapped-sendto', $u6 && send($u6, 'leak', 0, $mapped_to));

report('raw-icmp', socket(my $r, PF_INET, SOCK_RAW, 1));
report('raw-tcp', socket(my $r2, PF_INET, SOCK_RAW, 6));
report('ping-socket', socket(my $p, PF_INET, SOCK_DGRAM, 1));
report('packet', socket(my $k, 17, SOCK_RAW, 0x0300));
report('vsock', socket(my $v, 40, SOCK_STREAM, 0));
`;

describe('sends the policy does not allow', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  const reached: string[] = [];
  const tcpTrap = net.createServer((s) => {
    reached.push('tcp');
    s.destroy();
  });
  const udpTrap = dgram.createSocket('udp4');
  udpTrap.on('message', () => reached.push('udp'));
  let tcpPort = 0;
  let udpPort = 0;

  before(async () => {
    await new Promise<void>((resolve) => tcpTrap.listen(0, GATEWAY, () => resolve()));
    tcpPort = (tcpTrap.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => udpTrap.bind(0, GATEWAY, () => resolve()));
    udpPort = udpTrap.address().port;
    await daemon.start();
  });
  after(async () => {
    await daemon.stop();
    tcpTrap.close();
    udpTrap.close();
  });

  it('reaches a denied address by no spelling, socket kind or unconnected send', async () => {
    const ws = makeWorkspace({ 'sends.pl': SENDS });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--workspace', ws, 'shell', '--'],
      ...['perl', `${ws}/sends.pl`, String(tcpPort), String(udpPort)],
    ]).done;
    const results: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/^([\w-]+)=(.*)$/gm)) results[m[1]!] = m[2]!;
    const out = `${r.stdout}\n${r.stderr}`;

    for (const label of ['dotted', 'decimal', 'octal', 'hex', 'short']) {
      assert.equal(results[`tcp-${label}`], 'failed: Operation not permitted', `${label}: ${out}`);
    }
    // A v4-mapped IPv6 address is judged as the IPv4 address it carries.
    assert.equal(results['tcp-v4-mapped'], 'failed: Operation not permitted', out);
    assert.equal(results['udp-sendto'], 'failed: Operation not permitted', out);
    assert.equal(results['udp6-mapped-sendto'], 'failed: Operation not permitted', out);
    assert.equal(results['raw-icmp'], 'failed: Operation not permitted', out);
    assert.equal(results['raw-tcp'], 'failed: Operation not permitted', out);
    assert.equal(results['ping-socket'], 'failed: Permission denied', out);
    assert.equal(results['packet'], 'failed: Address family not supported by protocol', out);
    assert.equal(results['vsock'], 'failed: Address family not supported by protocol', out);

    await sleep(300);
    assert.deepEqual(reached, [], 'nothing reached the traps');
    const events = daemon.events(sessionOf(r.stderr));
    const denied = events.filter((e) => e.kind === 'net' && e.decision === 'deny');
    const to = (port: number, protocol: string) =>
      denied.filter((e) => e.resource === `${GATEWAY}:${port}` && e.protocol === protocol);
    assert.equal(to(tcpPort, 'tcp').length, 6, JSON.stringify(denied));
    assert.equal(to(udpPort, 'udp').length, 2, JSON.stringify(denied));
    // Refused socket kinds never reach an address, so they leave no Connect event.
    assert.equal(denied.length, 8);
  });
});
