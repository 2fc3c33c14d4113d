/**
 * The egress proxy end to end: a real leashd with its proxy and resolver, real sandbox
 * containers whose HTTP(S) is redirected by nftables, and real upstream servers on loopback
 * addresses (HTTPS with a test CA) that only the proxy can reach. No real name is resolved.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { WORKSPACE_RW } from '../support/policies';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, sleep, TestDaemon, waitFor } from '../support/leashd';
import { loopbackAddress, makeCertificates, Upstream } from './upstream';

const SECRET = 'sk-test-5f1c9e0a7b3d';
const GATEWAY = '172.17.0.1';

const BASE = `${WORKSPACE_RW}\n`;

const API = `
@id("api")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"api.test");

@id("api-key")
@inject_header("X-Api-Key: \${secret:TEST_API_KEY}")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"api.test");

@id("no-admin")
forbid (principal, action == Leash::Action::"HttpRequest", resource)
when { context.path like "/admin*" };

@id("bad-cert")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"bad.test");

@id("ws")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"ws.test");
`;

/** An HTTPS request from inside the sandbox with openssl (trusting what SSL_CERT_FILE says). */
function httpsCmd(
  connect: string,
  opts: {
    sni?: string;
    host?: string;
    path?: string;
    headers?: string[];
    method?: string;
    caFile?: string;
  } = {},
): string {
  const sni = opts.sni ?? connect.split(':')[0];
  const head = [
    `${opts.method ?? 'GET'} ${opts.path ?? '/'} HTTP/1.1`,
    `Host: ${opts.host ?? sni}`,
    ...(opts.headers ?? []),
    'Connection: close',
    '',
    '',
  ].join('\\r\\n');
  return (
    `printf '${head}' | openssl s_client -quiet -verify_return_error ` +
    (opts.caFile ? `-CAfile ${opts.caFile} ` : '') +
    `-connect ${connect} -servername ${sni} 2>&1`
  );
}

describe('the egress proxy', { skip: sandboxSkip() }, () => {
  const upstream = new Upstream();
  const badUpstream = new Upstream();
  const bystander = new Upstream();
  const certs = makeCertificates(['api.test', 'other.test', 'ws.test', 'bad.test']);
  const apiAddress = loopbackAddress();
  const badAddress = loopbackAddress();
  const settingsFile = path.join(certs.dir, 'settings.json');
  fs.writeFileSync(
    settingsFile,
    JSON.stringify({
      hosts: {
        'api.test': apiAddress,
        'other.test': apiAddress,
        'ws.test': apiAddress,
        'bad.test': badAddress,
      },
      upstreamCaFile: certs.caFile,
    }),
  );
  const daemon = new TestDaemon(['--proxy-test-settings', settingsFile]);
  let directPort = 0;

  before(async () => {
    await upstream.listen(apiAddress, 443, { key: certs.key, cert: certs.cert });
    await upstream.listen(apiAddress, 80);
    await upstream.listen(apiAddress, 8443, { key: certs.key, cert: certs.cert });
    await badUpstream.listen(badAddress, 443, { key: certs.selfKey, cert: certs.selfCert });
    directPort = await bystander.listen(GATEWAY, 0, { key: certs.key, cert: certs.cert });
    await daemon.start();
    const set = daemon.cli(['secret', 'set', 'TEST_API_KEY'], { input: `${SECRET}\n` });
    assert.equal(set.status, 0, set.stderr);
  });
  after(async () => {
    await daemon.stop();
    upstream.close();
    badUpstream.close();
    bystander.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  /** Runs `script` in a new session under BASE + `policy`; returns output and session. */
  // Asynchronous: the upstream servers live in this process and must keep answering.
  async function run(
    script: string,
    policy = API,
    files: Record<string, string> = {},
    flags: string[] = [],
  ): Promise<{ out: string; session: string; status: number }> {
    const ws = makeWorkspace({ ...files, 'policy.cedar': BASE + policy });
    const r = await daemon.cliAsync([
      'run',
      '--json',
      ...flags,
      '--policy',
      path.join(ws, 'policy.cedar'),
      '--workspace',
      ws,
      'shell',
      '--',
      'sh',
      '-c',
      script,
    ]).done;
    return { out: r.stdout + r.stderr, session: sessionOf(r.stderr), status: r.status };
  }

  /** `leash events export` of the session holds http and Resolve events the schema accepts. */
  function assertExportMatchesSchema(session: string): void {
    const r = daemon.cli(['events', 'export', '--session', session]);
    assert.equal(r.status, 0, r.stderr);
    const schemaFile = path.resolve(__dirname, '..', '..', '..', 'docs', 'audit.schema.json');
    const validate = new Ajv2020({ allErrors: true }).compile(
      JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object,
    );
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    for (const line of lines) assert.ok(validate(line), JSON.stringify(validate.errors));
    assert.ok(lines.some((l) => l.kind === 'http'));
  }

  function httpEvents(session: string): Record<string, unknown>[] {
    return daemon.events(session).filter((e) => e.kind === 'http');
  }

  it('forwards an allowed HTTPS request, with a certificate the sandbox trusts, and logs it', async () => {
    const r = await run(httpsCmd('api.test:443', { path: '/v1/models?limit=2' }));
    assert.match(r.out, /"upstream":"ok"/, r.out);
    assert.match(r.out, /"url":"\/v1\/models\?limit=2"/);
    const e = httpEvents(r.session).find((x) => x.path === '/v1/models?limit=2');
    assert.ok(e, 'the request is in the audit log');
    assert.equal(e.decision, 'allow');
    assert.equal(e.action, 'HttpRequest');
    assert.equal(e.resource, 'api.test');
    assert.deepEqual(e.policies, ['api', 'api-key']);
    assert.equal(e.port, 443);
    assert.equal(e.method, 'GET');
  });

  it('denies a host no policy permits with a 403 naming the rule to add', async () => {
    // The name does not even resolve in the sandbox; the request reaches the proxy anyway.
    const r = await run(
      `getent hosts other.test || echo NXDOMAIN; ` +
        httpsCmd('api.test:443', { sni: 'other.test', path: '/x' }),
    );
    assert.match(r.out, /NXDOMAIN/);
    assert.match(r.out, /HTTP\/1.1 403/);
    assert.match(r.out, /no policy permits it \(default deny\)/);
    assert.match(r.out, /resource == Leash::Host::"other.test"/);
    const e = httpEvents(r.session).find((x) => x.resource === 'other.test');
    assert.equal(e?.decision, 'deny');
    assert.deepEqual(e?.policies, []);
    const resolve = daemon.events(r.session).find((x) => x.action === 'Resolve');
    assert.equal(resolve?.resource, 'other.test');
    assertExportMatchesSchema(r.session);
  });

  it('denies a forbidden path and names the forbid', async () => {
    const r = await run(httpsCmd('api.test:443', { path: '/admin/users' }));
    assert.match(r.out, /HTTP\/1.1 403/);
    assert.match(r.out, /denied by policy no-admin/);
    assert.equal(httpEvents(r.session).find((x) => x.path === '/admin/users')?.decision, 'deny');
    assert.ok(!upstream.seen.some((s) => s.url === '/admin/users'), 'nothing reached upstream');
  });

  it('denies and logs a Host header that disagrees with the TLS server name', async () => {
    const r = await run(
      httpsCmd('api.test:443', { sni: 'api.test', host: 'other.test', path: '/mix' }),
    );
    assert.match(r.out, /HTTP\/1.1 403/);
    assert.match(r.out, /TLS server name api.test and Host header other.test differ/);
    const e = httpEvents(r.session).find((x) => x.path === '/mix');
    assert.equal(e?.decision, 'deny');
    assert.ok(!upstream.seen.some((s) => s.url === '/mix'));
  });

  it('injects the secret on the wire for its host while the sandbox holds only a placeholder', async () => {
    const r = await run(
      httpsCmd('api.test:443', {
        path: '/v1/inject',
        headers: ['X-Api-Key: leash-placeholder-test'],
      }) +
        '; env; ' +
        // The pattern comes through a pipe, so the secret is in no argv (exec events log argv).
        `bash -c 'grep -rlsF -f <(echo ${Buffer.from(SECRET).toString('base64')} | base64 -d) ` +
        `/etc /root /tmp /usr/local "$PWD"'; echo grep-done`,
    );
    assert.match(r.out, /"url":"\/v1\/inject"/, r.out);
    const seen = upstream.seen.find((s) => s.url === '/v1/inject');
    assert.equal(seen?.headers['x-api-key'], SECRET);
    assert.ok(!r.out.includes(SECRET), 'the secret appears nowhere in the sandbox');
    assert.match(r.out, /grep-done/);
    const e = httpEvents(r.session).find((x) => x.path === '/v1/inject');
    assert.deepEqual(e?.injected, ['x-api-key']);
    assert.ok((e?.headers as string[]).includes('x-api-key'));
    assert.ok(!JSON.stringify(daemon.events(r.session)).includes(SECRET), 'never logged');
  });

  it('leaves a placeholder sent to another host alone and logs the attempt', async () => {
    const r = await run(
      httpsCmd('ws.test:443', { path: '/leak', headers: ['Authorization: leash-placeholder-x'] }),
    );
    assert.match(r.out, /"url":"\/leak"/, r.out);
    assert.equal(
      upstream.seen.find((s) => s.url === '/leak')?.headers.authorization,
      'leash-placeholder-x',
    );
    const e = httpEvents(r.session).find((x) => x.path === '/leak');
    assert.deepEqual(e?.placeholders, ['authorization']);
  });

  it('redirects a port a permit names to the proxy', async () => {
    const policy =
      API +
      '\n@id("api-8443")\npermit (principal, action == Leash::Action::"HttpRequest", resource)\n' +
      'when { resource == Leash::Host::"api.test" && resource.port == 8443 };\n';
    const r = await run(httpsCmd('api.test:8443', { path: '/named-port' }), policy);
    assert.match(r.out, /"url":"\/named-port"/, r.out);
    const e = httpEvents(r.session).find((x) => x.path === '/named-port');
    assert.equal(e?.port, 8443);
    assert.ok((e?.policies as string[]).includes('api-8443'));
  });

  it('in shadow mode forwards what the policy would deny and logs it as would-deny', async () => {
    const r = await run(
      httpsCmd('api.test:443', { sni: 'other.test', path: '/shadowed' }),
      API,
      {},
      ['--mode', 'shadow'],
    );
    assert.match(r.out, /"url":"\/shadowed"/, r.out);
    assert.equal(httpEvents(r.session).find((x) => x.path === '/shadowed')?.decision, 'would-deny');
  });

  it('keeps secret values out of every CLI answer', () => {
    const list = daemon.cli(['secret', 'list', '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { names: ['TEST_API_KEY'] });
    const set = daemon.cli(['secret', 'set', 'FROM_ENV', '--from-env', 'LEASH_TEST_VALUE'], {
      env: { LEASH_TEST_VALUE: 'env-value-42' },
    });
    assert.equal(set.status, 0, set.stderr);
    assert.ok(!(set.stdout + set.stderr).includes('env-value-42'));
    assert.equal(daemon.cli(['secret', 'rm', 'FROM_ENV']).status, 0);
    const again = daemon.cli(['secret', 'rm', 'FROM_ENV']);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /no secret named FROM_ENV/);
    const bad = daemon.cli(['secret', 'set', 'bad name'], { input: 'x' });
    assert.match(bad.stderr, /not valid/);
  });

  it('gives the workload an error for an upstream certificate that fails verification', async () => {
    const r = await run(httpsCmd('bad.test:443', { path: '/cert' }));
    assert.match(r.out, /HTTP\/1.1 502/);
    assert.match(r.out, /certificate of bad.test:443 failed verification/);
    assert.equal(badUpstream.seen.length, 0);
  });

  it('serves keep-alive and chunked bodies, and refuses Content-Length with Transfer-Encoding', async () => {
    const chunked = [
      'POST /chunked HTTP/1.1',
      'Host: api.test',
      'Transfer-Encoding: chunked',
      '',
      '5',
      'hello',
      '0',
      '',
      'GET /second HTTP/1.1',
      'Host: api.test',
      'Connection: close',
      '',
      '',
    ].join('\\r\\n');
    const smuggle = [
      'POST /smuggle HTTP/1.1',
      'Host: api.test',
      'Content-Length: 5',
      'Transfer-Encoding: chunked',
      '',
      '0',
      '',
      '',
    ].join('\\r\\n');
    const tail = 'openssl s_client -quiet -connect api.test:443 -servername api.test 2>&1';
    const r = await run(`printf '${chunked}' | ${tail}; echo ===; printf '${smuggle}' | ${tail}`);
    const [first, second] = r.out.split('===');
    assert.match(first ?? '', /"url":"\/chunked","body":"hello"/, r.out);
    assert.match(first ?? '', /"url":"\/second"/);
    assert.match(second ?? '', /HTTP\/1.1 400/);
    assert.ok(!upstream.seen.some((s) => s.url === '/smuggle'));
    const e = httpEvents(r.session).find((x) => /malformed HTTP/.test(String(x.reason)));
    assert.ok(e, 'the refusal is logged with its reason');
  });

  it('passes a WebSocket upgrade on port 80 and echoes bytes both ways', async () => {
    const upgrade = [
      'GET /chat HTTP/1.1',
      'Host: ws.test',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\\r\\n');
    const r = await run(
      `exec bash -c 'exec 3<>/dev/tcp/ws.test/80; printf "${upgrade}" >&3; ` +
        `while IFS= read -r -t 5 line <&3; do echo "H:$line"; [ \${#line} -le 1 ] && break; done; ` +
        `printf ping-bytes >&3; read -r -t 5 -N 10 echo <&3; echo "ECHO:$echo"'`,
    );
    assert.match(r.out, /H:HTTP\/1.1 101/, r.out);
    assert.match(r.out, /ECHO:ping-bytes/);
  });

  it('refuses TLS without a server name and oversized headers, with logged reasons', async () => {
    const big = 'X-Big: ' + 'a'.repeat(20_000);
    const r = await run(
      `printf 'GET / HTTP/1.1\\r\\nHost: api.test\\r\\n\\r\\n' | ` +
        `openssl s_client -quiet -noservername -connect api.test:443 2>&1; echo ===; ` +
        httpsCmd('api.test:443', { path: '/big', headers: [big] }),
    );
    const [noSni, oversized] = r.out.split('===');
    assert.doesNotMatch(noSni ?? '', /"upstream":"ok"/);
    assert.match(oversized ?? '', /HTTP\/1.1 431/, r.out);
    const reasons = httpEvents(r.session).map((e) => String(e.reason));
    assert.ok(
      reasons.some((x) => /without a server name/.test(x)),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.some((x) => /HPE_HEADER_OVERFLOW/.test(x)),
      reasons.join('\n'),
    );
  });

  it('closes a client that never finishes its request headers', async () => {
    // bash holds the connection open and reads until the proxy closes it.
    const r = await run(
      `bash -c 'start=$(date +%s); exec 3<>/dev/tcp/api.test/80; ` +
        `printf "GET /slow HTTP/1.1\\r\\nHost: api.test\\r\\n" >&3; cat <&3 >/dev/null; ` +
        `echo "closed after $(( $(date +%s) - start )) s"'`,
    );
    const took = Number(/closed after (\d+) s/.exec(r.out)?.[1]);
    assert.ok(took >= 14 && took < 25, r.out);
    const reasons = httpEvents(r.session).map((e) => String(e.reason));
    assert.ok(
      reasons.some((x) => /headers not complete/.test(x)),
      reasons.join('\n'),
    );
  });

  it('lets no direct connect or QUIC datagram bypass the proxy and the kernel', async () => {
    const udp = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    udp.on('message', (m) => got.push(m));
    await new Promise<void>((resolve) => udp.bind(443, GATEWAY, () => resolve()));
    const tcpSeen: string[] = [];
    const trap = net.createServer((s) => {
      tcpSeen.push('connected');
      s.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, GATEWAY, () => resolve()));
    const trapPort = (trap.address() as net.AddressInfo).port;
    try {
      const r = await run(
        `bash -c 'exec 3<>/dev/tcp/${GATEWAY}/${trapPort}' 2>&1 && echo TCP-OPEN; ` +
          `bash -c 'echo quic > /dev/udp/${GATEWAY}/443' 2>&1; echo UDP-SENT; ` +
          `bash -c 'echo quic > /dev/udp/${GATEWAY}/443' 2>&1; echo done`,
      );
      assert.doesNotMatch(r.out, /TCP-OPEN/);
      assert.match(r.out, /Operation not permitted/);
      await sleep(300);
      assert.deepEqual(tcpSeen, []);
      assert.deepEqual(got, [], 'no UDP 443 datagram left the sandbox');
    } finally {
      udp.close();
      trap.close();
    }
  });

  it('flips a verdict when the policy is reloaded, without a restart', async () => {
    const ws = makeWorkspace({ 'policy.cedar': BASE + API });
    const go = path.join(ws, 'go');
    const script =
      `${httpsCmd('api.test:443', { path: '/before' })}; echo ===; ` +
      `while [ ! -f ${go} ]; do sleep 0.1; done; ${httpsCmd('api.test:443', { path: '/after' })}`;
    const child = daemon.cliAsync([
      'run',
      '--json',
      '--policy',
      path.join(ws, 'policy.cedar'),
      '--workspace',
      ws,
      'shell',
      '--',
      'sh',
      '-c',
      script,
    ]);
    await waitFor('the first response', () => child.stdoutSoFar().includes('==='), 60_000);
    const forbid = path.join(ws, 'forbid.cedar');
    fs.writeFileSync(
      forbid,
      BASE +
        API +
        '\n@id("api-closed")\nforbid (principal, action == Leash::Action::"HttpRequest", ' +
        'resource == Leash::Host::"api.test");\n',
    );
    const listed = daemon.cli(['sessions', '--json']).stdout.trim().split('\n').filter(Boolean);
    const name = (JSON.parse(listed[0] as string) as { name: string }).name;
    const applied = daemon.cli(['policy', 'apply', '--session', name, forbid]);
    assert.equal(applied.status, 0, applied.stderr);
    fs.writeFileSync(go, '');
    const r = await child.done;
    const [before, afterReload] = r.stdout.split('===');
    assert.match(before ?? '', /"url":"\/before"/);
    assert.match(afterReload ?? '', /HTTP\/1.1 403/);
    assert.match(afterReload ?? '', /denied by policy api-closed/);
  });

  it('adds little latency: p50 and p99 of HTTPS through the proxy against a direct connection', async () => {
    const n = 40;
    const direct = `${GATEWAY}:${directPort}`;
    const policy =
      API +
      `\n@id("direct")\npermit (principal, action == Leash::Action::"Connect", resource)\n` +
      `when { resource.ip == ip("${GATEWAY}") && resource.port == ${directPort} };\n`;
    // The direct path trusts the upstream's own CA, from a bundle the workspace carries.
    const once = (label: string, connect: string, caFile?: string): string =>
      `s=$(date +%s%N); ${httpsCmd(connect, { sni: 'api.test', path: '/bench', caFile })} ` +
      '>/dev/null; ' +
      `echo "${label} $(( $(date +%s%N) - s ))"`;
    const r = await run(
      `for i in $(seq ${n}); do ${once('P', 'api.test:443')}; ` +
        `${once('D', direct, 'upstream-ca.crt')}; done`,
      policy,
      // As large as the bundle the proxied path reads, so both parse the same amount.
      {
        'upstream-ca.crt':
          fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') +
          fs.readFileSync(certs.caFile, 'utf8'),
      },
    );
    const times = (label: string): number[] =>
      [...r.out.matchAll(new RegExp(`^${label} (\\d+)$`, 'gm'))]
        .map((m) => Number(m[1]) / 1e6)
        .sort((a, b) => a - b);
    const proxied = times('P');
    const plain = times('D');
    assert.equal(proxied.length, n, r.out.slice(0, 2000));
    assert.equal(plain.length, n);
    const pct = (xs: number[], p: number): number =>
      xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
    const figures = {
      proxiedP50: pct(proxied, 0.5),
      proxiedP99: pct(proxied, 0.99),
      directP50: pct(plain, 0.5),
      directP99: pct(plain, 0.99),
    };
    console.log(
      `# proxy latency (ms, openssl s_client per request): ${JSON.stringify(figures)}` +
        ` ratio p50 ${(figures.proxiedP50 / figures.directP50).toFixed(2)}` +
        ` p99 ${(figures.proxiedP99 / figures.directP99).toFixed(2)}`,
    );
    assert.ok(upstream.seen.some((s) => s.url === '/bench'));
    assert.ok(
      bystander.seen.some((s) => s.url === '/bench'),
      r.out.slice(0, 3000),
    );
  });
});
