/**
 * Ways around the proxy's HTTP rules, each tried from inside a real session against real
 * upstream servers on loopback: other spellings of a forbidden path, a WebSocket upgrade to a
 * denied host, and a secret steered to another address or host. The policy permits api.test
 * with an injected key, forbids any path under /admin, and permits nothing else.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { loopbackAddress, makeCertificates, Upstream } from '../proxy/upstream';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';
import { WORKSPACE_RW } from '../support/policies';

const GATEWAY = '172.17.0.1';
const SECRET = 'sk-evasion-9d2e41b07c';

const POLICY = `${WORKSPACE_RW}
@id("api")
@inject_header("X-Api-Key: \${secret:EVASION_KEY}")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"api.test");

@id("no-admin")
forbid (principal, action == Leash::Action::"HttpRequest", resource)
when { context.path like "/admin*" };
`;

/** A raw HTTP/1.1 exchange over TLS from the sandbox; `head` is the request line on. */
function tlsRequest(connect: string, sni: string, head: string): string {
  const text = `${head}\\r\\nConnection: close\\r\\n\\r\\n`;
  return (
    `printf '%b' '${text}' | openssl s_client -quiet -verify_return_error ` +
    `-connect ${connect} -servername ${sni} 2>&1; echo; echo ===`
  );
}

describe('proxy evasion attempts', { skip: sandboxSkip() }, () => {
  const certs = makeCertificates(['api.test', 'other.test']);
  const apiAddress = loopbackAddress();
  const otherAddress = loopbackAddress();
  const api = new Upstream();
  const other = new Upstream();
  const dialled: string[] = [];
  const gatewayTrap = net.createServer((s) => {
    dialled.push('connected');
    s.destroy();
  });
  const settingsFile = path.join(certs.dir, 'settings.json');
  fs.writeFileSync(
    settingsFile,
    JSON.stringify({
      hosts: { 'api.test': apiAddress, 'other.test': otherAddress },
      upstreamCaFile: certs.caFile,
    }),
  );
  let uiPort = 0;
  let daemon: TestDaemon;

  before(async () => {
    await api.listen(apiAddress, 443, { key: certs.key, cert: certs.cert });
    await api.listen(apiAddress, 80);
    await other.listen(otherAddress, 443, { key: certs.key, cert: certs.cert });
    await other.listen(otherAddress, 80);
    await new Promise<void>((resolve) => gatewayTrap.listen(443, GATEWAY, () => resolve()));
    uiPort = await freePort();
    daemon = new TestDaemon(['--proxy-test-settings', settingsFile, '--ui-port', String(uiPort)]);
    await daemon.start();
    const set = daemon.cli(['secret', 'set', 'EVASION_KEY'], { input: `${SECRET}\n` });
    assert.equal(set.status, 0, set.stderr);
  });
  after(async () => {
    await daemon.stop();
    api.close();
    other.close();
    gatewayTrap.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  async function run(script: string): Promise<{ parts: string[]; out: string; session: string }> {
    const ws = makeWorkspace({ 'policy.cedar': POLICY });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--policy', path.join(ws, 'policy.cedar'), '--workspace', ws],
      ...['shell', '--', 'bash', '-c', script],
    ]).done;
    const out = r.stdout + r.stderr;
    return { parts: out.split('==='), out, session: sessionOf(r.stderr) };
  }

  const httpEvents = (session: string): Record<string, unknown>[] =>
    daemon.events(session).filter((e) => e.kind === 'http');

  it('judges every spelling of a forbidden path as the path it means', async () => {
    const denied = [
      '/%61dmin/users',
      '/adm%69n',
      '/./admin',
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public/.%2E/%61dmin',
      // Forwarded as sent, but a server that decodes %2F would read /admin.
      '/public/..%2Fadmin',
    ];
    const refused = ['/public%5cadmin', '/%2561dmin', '//admin', '/public\\\\..\\\\admin'];
    const all = [...denied, ...refused, '/@scope%2fpkg', '/public/../ok'];
    const r = await run(
      all
        .map((p) => tlsRequest('api.test:443', 'api.test', `GET ${p} HTTP/1.1\\r\\nHost: api.test`))
        .join('; '),
    );
    for (let i = 0; i < denied.length; i++) {
      assert.match(r.parts[i] ?? '', /HTTP\/1.1 403/, `${denied[i]}: ${r.parts[i]}`);
      assert.match(r.parts[i] ?? '', /denied by policy no-admin/);
    }
    for (let i = 0; i < refused.length; i++) {
      const part = r.parts[denied.length + i] ?? '';
      assert.match(part, /HTTP\/1.1 400/, `${refused[i]}: ${part}`);
      assert.match(part, /send the path in its plain form/);
    }
    assert.match(r.parts[all.length - 2] ?? '', /"url":"\/@scope%2Fpkg"/, r.out);
    assert.match(r.parts[all.length - 1] ?? '', /"url":"\/ok"/, r.out);
    assert.ok(!api.seen.some((s) => /admin/i.test(s.url)), 'no admin path reached upstream');

    const events = httpEvents(r.session);
    const forbidden = events.filter((e) => (e.policies as string[]).includes('no-admin'));
    assert.equal(forbidden.length, denied.length);
    const judgedAs = (e: Record<string, unknown>): string => String(e.decodedPath ?? e.path);
    assert.ok(forbidden.every((e) => e.decision === 'deny' && judgedAs(e).startsWith('/admin')));
    const ambiguous = events.filter((e) => /request target/.test(String(e.reason)));
    assert.equal(ambiguous.length, refused.length);
    assert.ok(ambiguous.every((e) => e.decision === 'deny'));
  });

  it('refuses a WebSocket upgrade to a denied host or path and opens no tunnel', async () => {
    // Sent to the gateway's port 80 by address (redirected to the proxy); the Host decides.
    const upgrade = (host: string, p: string): string =>
      `exec 3<>/dev/tcp/${GATEWAY}/80; ` +
      `printf 'GET ${p} HTTP/1.1\\r\\nHost: ${host}\\r\\nUpgrade: websocket\\r\\n` +
      `Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n` +
      `Sec-WebSocket-Version: 13\\r\\n\\r\\n` +
      `GET /smuggled HTTP/1.1\\r\\nHost: ${host}\\r\\n\\r\\n' >&3; ` +
      `timeout 5 cat <&3; exec 3<&-; echo; echo ===`;
    const r = await run(
      `${upgrade('other.test', '/chat')}; ${upgrade('api.test', '/admin/socket')}`,
    );
    assert.match(r.parts[0] ?? '', /HTTP\/1.1 403/, r.out);
    assert.match(r.parts[0] ?? '', /no policy permits it/);
    assert.match(r.parts[1] ?? '', /HTTP\/1.1 403/, r.out);
    assert.match(r.parts[1] ?? '', /denied by policy no-admin/);
    assert.doesNotMatch(r.out, /101 Switching/);
    assert.deepEqual(other.seen, [], 'nothing reached the denied host');
    assert.ok(!api.seen.some((s) => s.url === '/smuggled' || s.url.startsWith('/admin')));
    const events = httpEvents(r.session);
    assert.equal(events.find((e) => e.resource === 'other.test')?.decision, 'deny');
  });

  it('refuses a CONNECT tunnel, even to the permitted host', async () => {
    const before = api.seen.length;
    const r = await run(
      `exec 3<>/dev/tcp/${GATEWAY}/80; ` +
        `printf 'CONNECT api.test:443 HTTP/1.1\\r\\nHost: api.test:443\\r\\n\\r\\n' >&3; ` +
        `timeout 5 cat <&3; echo; echo ===`,
    );
    assert.match(r.parts[0] ?? '', /HTTP\/1.1 405/, r.out);
    assert.equal(api.seen.length, before);
  });

  it('sends the secret only to the address the proxy resolved for the permitted host', async () => {
    const before = { api: api.seen.length, other: other.seen.length };
    const r = await run(
      [
        // Dialled at the gateway by address: a trap listens there; the proxy dials api.test.
        tlsRequest(`${GATEWAY}:443`, 'api.test', 'GET /dialled HTTP/1.1\\r\\nHost: api.test'),
        // An absolute target naming another host than the one judged.
        tlsRequest(
          'api.test:443',
          'api.test',
          'GET https://other.test/steer HTTP/1.1\\r\\nHost: api.test',
        ),
        // A placeholder sent to a host with no injection stays a placeholder.
        tlsRequest(
          `${GATEWAY}:443`,
          'other.test',
          'GET /elsewhere HTTP/1.1\\r\\nHost: other.test\\r\\nX-Api-Key: leash-placeholder-k',
        ),
      ].join('; '),
    );
    assert.match(r.parts[0] ?? '', /"url":"\/dialled"/, r.out);
    assert.match(r.parts[1] ?? '', /HTTP\/1.1 403/, r.out);
    assert.match(r.parts[1] ?? '', /request target other.test and Host api.test differ/);
    assert.match(r.parts[2] ?? '', /HTTP\/1.1 403/, r.out);
    const got = api.seen.slice(before.api);
    assert.deepEqual(
      got.map((s) => [s.url, s.headers['x-api-key']]),
      [['/dialled', SECRET]],
    );
    assert.equal(other.seen.length, before.other, 'the denied host got nothing');
    assert.deepEqual(dialled, [], 'the address the sandbox dialled was never reached');
    assert.ok(!r.out.includes(SECRET), 'the sandbox never sees the value');
  });

  it('keeps the secret value out of every log, event, error and export', async () => {
    // A request that gets the secret injected, one that names a missing secret, and leashd's
    // own log, events and export afterwards.
    const missing =
      POLICY.replace('EVASION_KEY', 'NOT_SET_KEY').replace('"api"', '"api-missing"') + '\n';
    const ws = makeWorkspace({ 'policy.cedar': missing });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--policy', path.join(ws, 'policy.cedar'), '--workspace', ws],
      ...[
        'shell',
        '--',
        'bash',
        '-c',
        tlsRequest('api.test:443', 'api.test', 'GET /m HTTP/1.1\\r\\nHost: api.test'),
      ],
    ]).done;
    assert.match(r.stdout, /HTTP\/1.1 503/, r.stdout);
    assert.match(r.stdout, /secret NOT_SET_KEY is not set/);
    const injected = await run(
      tlsRequest('api.test:443', 'api.test', 'GET /with-key HTTP/1.1\\r\\nHost: api.test'),
    );
    assert.match(injected.out, /"url":"\/with-key"/);
    const exported = daemon.cli(['events', 'export']);
    assert.equal(exported.status, 0, exported.stderr);
    const token = new URL(JSON.parse(daemon.cli(['ui', '--json']).stdout).url).hash.slice(7);
    const places = {
      'the Control UI sessions': await uiGet(uiPort, token, '/api/sessions'),
      'the Control UI event stream': await uiGet(uiPort, token, '/api/events/stream?after=0'),
      'leashd log': daemon.log,
      'the session output': injected.out + r.stdout + r.stderr,
      'the audit export': exported.stdout,
      events: JSON.stringify(daemon.events(injected.session)),
      'secret list': daemon.cli(['secret', 'list', '--json']).stdout,
    };
    for (const [where, text] of Object.entries(places)) {
      assert.ok(!text.includes(SECRET), `the secret value appears in ${where}`);
    }
    assert.ok(exported.stdout.includes('/with-key'), 'the export holds the request');
    assert.ok(places['the Control UI event stream'].includes('/with-key'), 'so does the UI');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** What the Control UI answers on `p` within 2 s (an event stream is cut off there). */
function uiGet(port: number, token: string, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    const req = http.get(
      { host: '127.0.0.1', port, path: p, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
        res.on('close', () => resolve(body));
      },
    );
    req.on('error', reject);
    setTimeout(() => req.destroy(), 2000).unref();
  });
}
