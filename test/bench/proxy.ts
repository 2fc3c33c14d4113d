/**
 * proxy_latency_ms/https: one HTTPS GET from inside a sandbox (a fresh `openssl s_client` each)
 * through leashd's proxy, against the same request sent directly to the same upstream server,
 * alternating in one session. The upstream has its own CA; the direct side reads a bundle of
 * the same size as the proxied side, so both parse the same trust store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, TestDaemon } from '../support/leashd';
import { loopbackAddress, makeCertificates, Upstream } from '../proxy/upstream';
import { summarise, type Result } from './stats';
import { WORKSPACE_RW } from '../support/policies';

const GATEWAY = '172.17.0.1';
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const POLICY = (directPort: number): string => `${WORKSPACE_RW}
@id("api")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"api.test");
@id("direct")
permit (principal, action == Leash::Action::"Connect", resource)
when { resource.ip == ip("${GATEWAY}") && resource.port == ${directPort} };
`;

export async function proxyLatency(requests: number, log: (line: string) => void): Promise<Result> {
  const certs = makeCertificates(['api.test']);
  const address = loopbackAddress();
  const upstream = new Upstream();
  const settings = path.join(certs.dir, 'settings.json');
  fs.writeFileSync(
    settings,
    JSON.stringify({ hosts: { 'api.test': address }, upstreamCaFile: certs.caFile }),
  );
  const daemon = new TestDaemon(['--proxy-test-settings', settings]);
  try {
    await upstream.listen(address, 443, { key: certs.key, cert: certs.cert });
    const directPort = await upstream.listen(GATEWAY, 0, { key: certs.key, cert: certs.cert });
    await daemon.start();
    const bundle = fs.readFileSync(SYSTEM_BUNDLE, 'utf8') + fs.readFileSync(certs.caFile, 'utf8');
    const ws = makeWorkspace({ 'policy.cedar': POLICY(directPort), 'direct-ca.crt': bundle });
    const get = (label: string, connect: string, ca: string): string =>
      `s=$(date +%s%N); printf 'GET /bench HTTP/1.1\\r\\nHost: api.test\\r\\n` +
      `Connection: close\\r\\n\\r\\n' | openssl s_client -quiet -verify_return_error ${ca} ` +
      `-connect ${connect} -servername api.test >/dev/null 2>&1 && ` +
      `echo "${label} $(( $(date +%s%N) - s ))"`;
    // Pairs alternate which side goes first; the first pair warms both up and is dropped.
    const script =
      `for i in $(seq 0 ${requests}); do if [ $((i % 2)) = 0 ]; then ` +
      `${get('P', 'api.test:443', '')}; ${get('D', `${GATEWAY}:${directPort}`, '-CAfile direct-ca.crt')}; ` +
      `else ${get('D', `${GATEWAY}:${directPort}`, '-CAfile direct-ca.crt')}; ` +
      `${get('P', 'api.test:443', '')}; fi; done`;
    const started = Date.now();
    const r = await daemon.cliAsync([
      'run',
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
    const times = (label: string): number[] =>
      [...r.stdout.matchAll(new RegExp(`^${label} (\\d+)$`, 'gm'))]
        .map((m) => Number(m[1]) / 1e6)
        .slice(1);
    const proxied = times('P');
    const direct = times('D');
    if (proxied.length !== requests || direct.length !== requests) {
      throw new Error(
        `proxy bench: ${proxied.length} proxied and ${direct.length} direct requests of ` +
          `${requests} succeeded:\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`,
      );
    }
    fs.rmSync(ws, { recursive: true, force: true });
    const result = summarise(
      'proxy_latency_ms/https',
      'ms',
      { samples: proxied },
      { samples: direct },
      'one HTTPS GET per openssl s_client inside a sandbox, TLS intercepted by the proxy; ' +
        'baseline: the same request straight to the same upstream server',
    );
    log(`${result.name}: ${result.value} ms vs ${result.baseline} ms (${Date.now() - started} ms)`);
    return result;
  } finally {
    await daemon.stop();
    upstream.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
}
