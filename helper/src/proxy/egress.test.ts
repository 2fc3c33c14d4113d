/** The pieces of egress that need no sandbox: CA files, secrets, rules, nftables, resolver. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as packet from 'dns-packet';
import type { HttpRule, PrincipalIR } from '@leash/policies';
import { logger } from '../log';
import { expandSecrets, SecretStore } from '../secrets/store';
import { CertificateAuthority } from './ca';
import { hostCouldBeAllowed, redirectedPorts } from './http-rules';
import { nftScript } from './netns';
import { SandboxResolver } from './resolver';
import { refused, UpstreamResolver } from './upstream';

const temp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'leash-egress-'));

function principal(http: HttpRule[]): PrincipalIR {
  return { principal: 'shell', files: [], connects: [], exec: [], http, mcp: [] };
}

const GITHUB: HttpRule = {
  id: 'gh',
  effect: 'permit',
  match: [
    { on: 'host', match: { kind: 'like', parts: ['', '.github.com'] } },
    { on: 'port', lo: 8443, hi: 8443 },
  ],
};

describe('the interception CA', () => {
  it('is created once with its key 0600, and refused when the key is readable by others', async () => {
    const dir = temp();
    const first = await CertificateAuthority.open(dir);
    assert.equal(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777, 0o600);
    const again = await CertificateAuthority.open(dir);
    assert.equal(again.certPem, first.certPem);
    fs.chmodSync(path.join(dir, 'ca.key'), 0o644);
    await assert.rejects(CertificateAuthority.open(dir), /mode 644; it must be 0600/);
  });
});

describe('the secret store', () => {
  it('keeps values in a 0600 file, lists names only, and expands ${secret:NAME}', () => {
    const store = new SecretStore(temp());
    store.set('API_KEY', 'v1');
    assert.equal(fs.statSync(store.file).mode & 0o777, 0o600);
    assert.deepEqual(store.names(), ['API_KEY']);
    assert.equal(expandSecrets('Bearer ${secret:API_KEY}', store), 'Bearer v1');
    assert.throws(() => expandSecrets('${secret:NOPE}', store), /leash secret set NOPE/);
    assert.equal(store.remove('API_KEY'), true);
    assert.equal(store.remove('API_KEY'), false);
  });

  it('refuses bad names and values that could split a header', () => {
    const store = new SecretStore(temp());
    assert.throws(() => store.set('1bad', 'v'), /not valid/);
    assert.throws(() => store.set('OK', 'a\r\nX-Evil: 1'), /line break/);
  });
});

describe('HttpRequest rules as the resolver and redirection see them', () => {
  it('lets a name resolve only when some permit could match it', () => {
    const p = principal([GITHUB]);
    assert.equal(hostCouldBeAllowed(p, 'api.github.com'), true);
    assert.equal(hostCouldBeAllowed(p, 'github.com.evil.test'), false);
    assert.equal(hostCouldBeAllowed(principal([]), 'api.github.com'), false);
  });

  it('redirects 80, 443 and the ports permits name, but not wide ranges', () => {
    const wide: HttpRule = { id: 'w', effect: 'permit', match: [{ on: 'port', lo: 1, hi: 9000 }] };
    assert.deepEqual(redirectedPorts(principal([GITHUB, wide])), [80, 443, 8443]);
  });

  it('writes one nftables transaction that redirects, and rejects QUIC and IPv6', () => {
    const script = nftScript({
      gateway: '172.17.0.1',
      ports: new Map([
        [80, 40001],
        [443, 40002],
      ]),
      dnsPort: 40003,
    });
    assert.match(script, /^table inet leash\ndelete table inet leash\n/);
    assert.match(script, /tcp dport 443 dnat ip to 172\.17\.0\.1:40002/);
    assert.match(script, /th dport 53 dnat ip to 172\.17\.0\.1:40003/);
    assert.match(script, /udp dport \{ 80, 443 \} reject/);
    assert.match(script, /ip6 daddr != ::1 .* reject/);
  });

  it('never dials loopback, link-local or unspecified upstream addresses', () => {
    for (const a of [
      '127.0.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '0:0:0:0:0:ffff:127.0.0.1',
      '0:0:0:0:0:ffff:a9fe:a9fe',
      '0:0:0:0:0:0:0:1',
      '::127.0.0.1',
      'FE80::1%eth0',
      'ff02::1',
      'not-an-address',
    ]) {
      assert.equal(refused(a), true, a);
    }
    for (const a of ['140.82.112.3', '2606:4700::1111', '::ffff:140.82.112.3']) {
      assert.equal(refused(a), false, a);
    }
  });
});

describe('the sandbox resolver', () => {
  it('answers names a policy could allow, NXDOMAIN for others, nothing to strangers', async () => {
    const upstream = new UpstreamResolver({ hosts: { 'api.test': ['127.0.0.1'] } });
    const resolver = new SandboxResolver({
      bindAddress: '127.0.0.1',
      testAnswer: '10.9.8.7',
      upstream,
      log: logger('resolver-test'),
    });
    const port = await resolver.start();
    const refusals: string[] = [];
    resolver.attach('127.0.0.1', {
      name: 's1',
      mayResolve: (host) => host === 'api.test',
      resolved: (host, _a, why) => void (why && refusals.push(host)),
    });
    try {
      const ok = await query(port, 'api.test');
      assert.equal(ok?.rcode, 'NOERROR');
      assert.deepEqual(
        ok?.answers?.map((a) => (a as { data?: unknown }).data),
        ['10.9.8.7'],
      );
      const no = await query(port, 'secret-data.exfil.test');
      assert.equal(no?.rcode, 'NXDOMAIN');
      assert.deepEqual(refusals, ['secret-data.exfil.test']);
      resolver.detach('127.0.0.1');
      assert.equal(await query(port, 'api.test'), undefined);
    } finally {
      resolver.close();
    }
  });
});

type Reply = packet.DecodedPacket & { rcode?: string };

function query(port: number, name: string): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, 1000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(packet.decode(msg) as Reply);
    });
    const q = packet.encode({ type: 'query', id: 7, questions: [{ type: 'A', name }] });
    socket.send(q, port, '127.0.0.1');
  });
}
