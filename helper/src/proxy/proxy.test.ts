/**
 * The proxy in process, on loopback, without a sandbox: verdicts, injection, refusals and
 * upstream verification, against a real HTTPS upstream whose CA only the proxy trusts.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { NewEvent } from '../audit/event';
import { logger } from '../log';
import type { SessionMcp } from '../mcp/session-mcp';
import { SecretStore } from '../secrets/store';
import { CertificateAuthority } from './ca';
import type { HttpRequestFacts, HttpVerdict } from './http-rules';
import { EgressProxy, type EgressClient } from './proxy';
import { UpstreamResolver } from './upstream';

type Recorded = Omit<NewEvent, 'session' | 'principal'>;

describe('the egress proxy (in process)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-proxy-unit-'));
  const seen: http.IncomingHttpHeaders[] = [];
  const events: Recorded[] = [];
  let ca: CertificateAuthority;
  let untrusted: http.Server;
  let upstream: https.Server;
  let proxy: EgressProxy;
  let tlsPort = 0;
  let roguePort = 0;
  let verdict: HttpVerdict = { decision: 'allow', policies: ['p'], inject: [] };
  const judged: HttpRequestFacts[] = [];
  /** Paths under this prefix are denied whatever `verdict` says. */
  let deniedPrefix: string | undefined;

  const client: EgressClient = {
    name: 's1',
    principal: 'shell',
    judge: (facts) => {
      judged.push(facts);
      if (deniedPrefix && facts.path.startsWith(deniedPrefix)) {
        const v: HttpVerdict = { decision: 'deny', policies: ['no-prefix'], inject: [] };
        return { decision: 'deny', verdict: v };
      }
      return { decision: verdict.decision, verdict };
    },
    record: (e) => events.push(e),
    mcp: () => ({}) as SessionMcp,
  };

  before(async () => {
    ca = await CertificateAuthority.open(path.join(dir, 'proxy'));
    const upstreamCa = await CertificateAuthority.open(path.join(dir, 'upstream'));
    const rogueCa = await CertificateAuthority.open(path.join(dir, 'rogue'));
    const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      seen.push(req.headers);
      res.end(`upstream saw ${req.method} ${req.url}`);
    };
    upstream = https.createServer(
      { SNICallback: (name, done) => void upstreamCa.contextFor(name).then((c) => done(null, c)) },
      serve,
    );
    untrusted = https.createServer(
      { SNICallback: (name, done) => void rogueCa.contextFor(name).then((c) => done(null, c)) },
      serve,
    );
    tlsPort = await listen(upstream, '127.0.0.1');
    roguePort = await listen(untrusted, '127.0.0.2');
    const secrets = new SecretStore(dir);
    secrets.set('KEY', 'real-secret-value');
    proxy = new EgressProxy({
      bindAddress: '127.0.0.1',
      ca,
      secrets,
      upstream: new UpstreamResolver({
        hosts: { 'api.test': ['127.0.0.1'], 'rogue.test': ['127.0.0.2'] },
        upstreamCa: upstreamCa.certPem,
      }),
      log: logger('proxy-test'),
    });
    proxy.attach('127.0.0.1', client);
  });
  after(() => {
    proxy.close();
    upstream.close();
    untrusted.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function get(
    port: number,
    opts: { sni: string; host?: string; path?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: string }> {
    const proxyPort = await proxy.portFor(port);
    return new Promise((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port: proxyPort,
            servername: opts.sni,
            path: opts.path ?? '/',
            headers: { host: opts.host ?? opts.sni, ...opts.headers },
            ca: ca.certPem,
            agent: false,
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        )
        .on('error', reject);
    });
  }

  it('forwards an allowed request and swaps the injected header in on the wire', async () => {
    verdict = {
      decision: 'allow',
      policies: ['key'],
      inject: [{ name: 'X-Api-Key', value: 'Bearer ${secret:KEY}', policy: 'key' }],
    };
    const r = await get(tlsPort, {
      sni: 'api.test',
      path: '/v1?q=1',
      headers: { 'x-api-key': 'leash-placeholder-x' },
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'upstream saw GET /v1?q=1');
    assert.equal(seen.at(-1)?.['x-api-key'], 'Bearer real-secret-value');
    const e = events.at(-1);
    assert.equal(e?.decision, 'allow');
    assert.deepEqual(e?.details.injected, ['x-api-key']);
    assert.equal(e?.details.placeholders, undefined, 'the placeholder was replaced');
    assert.ok(!JSON.stringify(events).includes('real-secret-value'));
  });

  it('denies by default with a 403 that names the permit to add', async () => {
    verdict = { decision: 'deny', policies: [], inject: [] };
    const r = await get(tlsPort, { sni: 'api.test', path: '/x' });
    assert.equal(r.status, 403);
    assert.match(r.body, /no policy permits it \(default deny\)/);
    assert.match(r.body, /resource == Leash::Host::"api.test"/);
  });

  it('denies a Host header that disagrees with the TLS server name, whatever the policy', async () => {
    verdict = { decision: 'allow', policies: ['p'], inject: [] };
    const before = seen.length;
    const r = await get(tlsPort, { sni: 'api.test', host: 'rogue.test' });
    assert.equal(r.status, 403);
    assert.match(r.body, /TLS server name api.test and Host header rogue.test differ/);
    assert.equal(seen.length, before);
    assert.match(String(events.at(-1)?.details.reason), /differ/);
  });

  it('offers only HTTP/1.1 by ALPN, so an HTTP/2 client downgrades', async () => {
    const port = await proxy.portFor(tlsPort);
    const protocol = await new Promise<string | false | null>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port,
          servername: 'api.test',
          ca: ca.certPem,
          ALPNProtocols: ['h2', 'http/1.1'],
        },
        () => {
          resolve(s.alpnProtocol);
          s.destroy();
        },
      );
      s.on('error', reject);
    });
    assert.equal(protocol, 'http/1.1');
  });

  it('answers 503 naming a secret that is not set', async () => {
    verdict = {
      decision: 'allow',
      policies: ['k'],
      inject: [{ name: 'Authorization', value: '${secret:MISSING}', policy: 'k' }],
    };
    const r = await get(tlsPort, { sni: 'api.test' });
    assert.equal(r.status, 503);
    assert.match(r.body, /secret MISSING is not set; set it on the host/);
  });

  it('answers 502 when the upstream certificate is not trusted', async () => {
    verdict = { decision: 'allow', policies: ['p'], inject: [] };
    const r = await get(roguePort, { sni: 'rogue.test' });
    assert.equal(r.status, 502);
    assert.match(r.body, /certificate of rogue.test:\d+ failed verification/);
  });

  it('refuses Content-Length with Transfer-Encoding and logs why', async () => {
    const port = await proxy.portFor(80);
    const reply = await rawExchange(
      port,
      'POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 3\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1.1 400/);
    assert.match(String(events.at(-1)?.details.reason), /malformed HTTP/);
  });

  /** Sends `raw` over TLS to the proxy's listener for `port` and returns all it answers. */
  async function rawTls(port: number, sni: string, raw: string): Promise<string> {
    const proxyPort = await proxy.portFor(port);
    return new Promise((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: proxyPort,
        servername: sni,
        ca: ca.certPem,
      });
      let out = '';
      s.on('secureConnect', () => s.write(raw));
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', reject);
      setTimeout(() => s.destroy(), 5000).unref();
    });
  }

  it('sends nothing after an upgrade request until the upstream switches protocols', async () => {
    verdict = { decision: 'allow', policies: ['p'], inject: [] };
    const before = seen.length;
    const reply = await rawTls(
      tlsPort,
      'api.test',
      'GET /ok HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' +
        'GET /admin/smuggled HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.equal((reply.match(/HTTP\/1.1 /g) ?? []).length, 1, reply);
    assert.equal(seen.length - before, 1, 'only the judged request reached the upstream');
    assert.ok(seen.slice(before).every((h) => h.host === 'api.test'));
  });

  it('judges and forwards the canonical target, so the upstream sees the path judged', async () => {
    verdict = { decision: 'allow', policies: ['p'], inject: [] };
    const r = await get(tlsPort, { sni: 'api.test', path: '/public/%2e%2E/%61dmin/./x?q=%7e' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'upstream saw GET /admin/x?q=~');
    assert.equal(judged.at(-1)?.path, '/admin/x?q=~');
    const upgrade = await rawTls(
      tlsPort,
      'api.test',
      'GET /ws/%2e%2e/%61dmin HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\n' +
        'Upgrade: websocket\r\n\r\n',
    );
    assert.match(upgrade, /^HTTP\/1.1 200/);
    assert.match(upgrade, /upstream saw GET \/admin$/);
  });

  it('judges a path with an encoded / in both readings and forwards it as sent', async () => {
    verdict = { decision: 'allow', policies: ['p'], inject: [] };
    const before = judged.length;
    const r = await get(tlsPort, { sni: 'api.test', path: '/@types%2fnode' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'upstream saw GET /@types%2Fnode');
    assert.deepEqual(
      judged.slice(before).map((f) => f.path),
      ['/@types%2Fnode', '/@types/node'],
    );
    assert.equal(events.at(-1)?.details.decodedPath, '/@types/node');

    // A forbid that only the decoded reading meets denies the request.
    const seenBefore = seen.length;
    deniedPrefix = '/admin';
    try {
      const denied = await get(tlsPort, { sni: 'api.test', path: '/x/..%2Fadmin' });
      assert.equal(denied.status, 403, denied.body);
      assert.equal(seen.length, seenBefore, 'nothing reached the upstream');
    } finally {
      deniedPrefix = undefined;
    }
  });

  it('refuses an ambiguous target with a 400 before judging it, and sends nothing', async () => {
    verdict = { decision: 'allow', policies: ['p'], inject: [] };
    const before = { seen: seen.length, judged: judged.length };
    for (const target of ['/a%5cadmin', '/%2561dmin', '/a\\..\\admin', '//admin', '/x%00']) {
      const reply = await rawTls(
        tlsPort,
        'api.test',
        `GET ${target} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n`,
      );
      assert.match(reply, /^HTTP\/1.1 400/, `${target}: ${reply}`);
      assert.match(reply, /send the path in its plain form/);
      const e = events.at(-1);
      assert.equal(e?.decision, 'deny');
      assert.equal(e?.details.path, target);
      assert.match(String(e?.details.reason), /request target/);
    }
    assert.equal(seen.length, before.seen, 'nothing reached the upstream');
    assert.equal(judged.length, before.judged, 'nothing was judged');
  });

  it('refuses an upgrade request that carries a body', async () => {
    const reply = await rawTls(
      tlsPort,
      'api.test',
      'POST /mcp HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade\r\nUpgrade: x\r\n' +
        'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    assert.match(reply, /^HTTP\/1.1 400 .*\r\n[\s\S]*carries no body/);
  });

  it('closes connections from an address of no session', async () => {
    proxy.detach('127.0.0.1');
    try {
      const reply = await rawExchange(
        await proxy.portFor(80),
        'GET / HTTP/1.1\r\nHost: api.test\r\n\r\n',
      );
      assert.equal(reply, '');
    } finally {
      proxy.attach('127.0.0.1', client);
    }
  });
});

function listen(server: net.Server, address: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, address, () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** Sends `text` on a plain connection and returns all that comes back until close. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}
