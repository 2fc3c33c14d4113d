/**
 * proxy_latency_ms, proxy_rps and the peer's HTTPS figures: the same static HTTPS client
 * (https-client.c) asks one loopback upstream server for `GET /bench` from four places, taken
 * in turn: a Leash session through leashd's proxy (TLS intercepted, judged, forwarded), a Leash
 * session straight to the upstream, srt through its proxy (a CONNECT tunnel), and the bare host
 * straight to the upstream. Each either opens a new connection per request or keeps one alive.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, TestDaemon } from '../support/leashd';
import { loopbackAddress, makeCertificates, Upstream } from '../proxy/upstream';
import { WORKSPACE_RW } from '../support/policies';
import { sessionProbe } from './kernel';
import { SRT_VERSION, srtServer, srtSettings } from './peer';
import { buildHttpsClient, ProbeServer } from './probe';
import { rotate, summarise, type Result, type Side } from './stats';

/** Docker's default bridge gateway: where a session reaches the host (and leashd's proxy). */
const GATEWAY = '172.17.0.1';
const NAME = 'api.test';

const POLICY = (directPort: number): string => `${WORKSPACE_RW}
@id("api")
permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"${NAME}");
@id("direct")
permit (principal, action == Leash::Action::"Connect", resource)
when { resource.ip == ip("${GATEWAY}") && resource.port == ${directPort} };
`;

export interface ProxySizes {
  /** Requests per sample on new connections, and on one kept-alive connection. */
  fresh: number;
  keep: number;
  rounds: number;
  budgetMs: number;
}

/** CPU time (user + system) of a process so far, in seconds, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second here).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function proxyBenchmarks(
  sizes: ProxySizes,
  log: (line: string) => void,
): Promise<Result[]> {
  const certs = makeCertificates([NAME]);
  const address = loopbackAddress();
  const upstream = new Upstream();
  const settings = path.join(certs.dir, 'settings.json');
  fs.writeFileSync(
    settings,
    JSON.stringify({ hosts: { [NAME]: address }, upstreamCaFile: certs.caFile }),
  );
  const daemon = new TestDaemon(['--proxy-test-settings', settings]);
  const servers: ProbeServer[] = [];
  let ws: string | undefined;
  try {
    await upstream.listen(address, 443, { key: certs.key, cert: certs.cert });
    const directPort = await upstream.listen(GATEWAY, 0, { key: certs.key, cert: certs.cert });
    await daemon.start();
    ws = makeWorkspace({ 'policy.cedar': POLICY(directPort) });
    const client = buildHttpsClient(ws);
    const ca = path.join(ws, 'upstream-ca.crt');
    fs.copyFileSync(certs.caFile, ca);
    const policy = path.join(ws, 'policy.cedar');
    const inSession = (args: string[]): ProbeServer =>
      sessionProbe(daemon, policy, ws as string, [client, ...args]);
    const srt = srtSettings(path.join(certs.dir, 'srt.json'), [], [`${address}:443`]);
    // Any TCP 443 of a session goes to leashd's proxy, which judges by the TLS server name.
    servers.push(
      inSession([GATEWAY, '443', NAME, 'env']),
      inSession([GATEWAY, String(directPort), NAME, ca]),
      srtServer('srt https client', srt, [client, address, '443', NAME, ca, 'proxy']),
      ProbeServer.spawn('bare https client', client, [address, '443', NAME, ca]),
    );
    await Promise.all(servers.map((s) => s.ready()));
    const leashdPid = daemon.process?.pid as number;

    const results: Result[] = [];
    for (const mode of ['fresh', 'keep'] as const) {
      const n = sizes[mode];
      const started = Date.now();
      // CPU per sample: leashd's for the proxied side, this process's (the upstream server's)
      // for the direct side of the session.
      const cpu: number[][] = [[], []];
      const ask = (i: number) => async (): Promise<number[]> => {
        const before = i === 0 ? cpuSeconds(leashdPid) : process.cpuUsage();
        const t = await (servers[i] as ProbeServer).run(`${mode} ${n}`, 120_000);
        if (i === 0) cpu[0]?.push(cpuSeconds(leashdPid) - (before as number));
        if (i === 1) {
          const d = process.cpuUsage(before as NodeJS.CpuUsage);
          cpu[1]?.push((d.user + d.system) / 1e6);
        }
        return [t.meanNs / 1e6, t.p99Ns / 1e6];
      };
      const [proxied, direct, peer, bare] = (
        await rotate({ rounds: sizes.rounds, warmup: 1, budgetMs: sizes.budgetMs }, [
          ask(0),
          ask(1),
          ask(2),
          ask(3),
        ])
      ).map((rows): Side => ({
        samples: rows.map((r) => r[0] as number),
        p99s: rows.map((r) => r[1] as number),
      })) as [Side, Side, Side, Side];
      const label = mode === 'fresh' ? 'fresh-connection' : 'keep-alive';
      const how =
        mode === 'fresh'
          ? `${n} GETs per sample, each on a new TCP connection and TLS session`
          : `${n} GETs per sample, one after the other on one keep-alive TLS connection`;
      const perRequest = `${how}; value: mean ms per request; p99 per request`;
      results.push(
        summarise(
          `proxy_latency_ms/https/${label}`,
          'ms',
          proxied,
          direct,
          `${perRequest}; from a session through leashd's proxy (TLS intercepted); baseline: ` +
            `from a session straight to the same upstream`,
        ),
      );
      if (mode === 'keep') {
        const rps = (s: Side): Side => ({ samples: s.samples.map((ms) => 1000 / ms) });
        results.push(
          summarise(
            'proxy_rps/https/keep-alive',
            'req/s',
            rps(proxied),
            rps(direct),
            `${how}; requests per second of one client (higher is better), through the ` +
              `proxy against straight to the upstream`,
          ),
        );
        // The warm-up round's CPU was read too: keep the recorded rounds' only.
        const perCpu = (secs: number[]): Side => ({
          samples: secs.slice(-proxied.samples.length).map((s) => n / Math.max(s, 1e-6)),
        });
        results.push(
          summarise(
            'proxy_rps_per_core/https/keep-alive',
            'req/cpu-s',
            perCpu(cpu[0] ?? []),
            perCpu(cpu[1] ?? []),
            `${how}; requests per CPU-second of leashd (proxy: TLS in, judge, TLS out) ` +
              `against requests per CPU-second of the upstream server answering them ` +
              `directly (higher is better; CPU read from /proc at 10 ms ticks)`,
          ),
        );
      }
      results.push(
        summarise(
          `peer_https_ms/srt/${label}`,
          'ms',
          peer,
          bare,
          `${perRequest}; srt ${SRT_VERSION} through its proxy (CONNECT tunnel, TLS not ` +
            `intercepted) against the bare host straight to the same upstream`,
        ),
        summarise(
          `leash_vs_peer/https/${label}`,
          'ms',
          proxied,
          peer,
          `${perRequest}; a Leash session through leashd's proxy (TLS intercepted) against ` +
            `srt ${SRT_VERSION} through its proxy`,
        ),
      );
      log(`proxy ${label}: ${Date.now() - started} ms`);
    }
    return results;
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await daemon.stop();
    upstream.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  }
}
