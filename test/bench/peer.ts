/**
 * The peer: `@anthropic-ai/sandbox-runtime` (srt: bubblewrap namespaces for files, its own
 * proxy on the host for the network) running the same probe as a Leash session, so results.json
 * carries Leash ÷ peer ratios. srt is given no network but what a benchmark names, and those are
 * loopback addresses only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestDaemon } from '../support/leashd';
import { sessionProbe } from './kernel';
import { withPolicy } from './policies';
import { ProbeServer, type Timing } from './probe';
import { rotate, summarise, type Result } from './stats';

const SRT = require.resolve('@anthropic-ai/sandbox-runtime/dist/cli.js');
export const SRT_VERSION = (
  JSON.parse(fs.readFileSync(path.join(path.dirname(SRT), '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** srt's settings: writes only under `writable`, network only to `allowed` (loopback
 *  `address:port` literals, which srt's proxy dials without resolving a name). */
export function srtSettings(file: string, writable: string[], allowed: string[]): string {
  for (const a of allowed) {
    if (!/^127\.\d+\.\d+\.\d+:\d+$/.test(a)) {
      throw new Error(`srt may only be allowed loopback address:port literals, not ${a}`);
    }
  }
  const settings = {
    network: { allowedDomains: allowed, deniedDomains: [] },
    filesystem: { denyRead: [], allowWrite: writable, denyWrite: [] },
  };
  fs.writeFileSync(file, JSON.stringify(settings, null, 2));
  return file;
}

/** A line server (the probe, the HTTPS client) run by srt. srt's own environment carries no
 *  proxy variable, so its proxy never forwards to a parent proxy. */
export function srtServer(label: string, settingsFile: string, argv: string[]): ProbeServer {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k) && k !== 'SRT_DEBUG'),
  );
  return ProbeServer.spawn(
    label,
    process.execPath,
    [SRT, '--settings', settingsFile, '--', ...argv],
    env,
  );
}

export interface PeerSizes {
  openOps: number;
  readOnlyOps: number;
  rounds: number;
  budgetMs: number;
}

/**
 * peer_open_ns: the probe's open loop in a Leash session, under srt and bare on the host, the
 * three asked in turn. Two results per file: srt against the bare host (what the peer costs)
 * and the Leash session against srt (Leash ÷ peer).
 */
export async function peerOpen(
  daemon: TestDaemon,
  ws: string,
  sizes: PeerSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  fs.writeFileSync(path.join(ws, 'target'), 'x\n');
  const policyFile = path.join(daemon.dir, 'bench-peer.cedar');
  fs.writeFileSync(policyFile, withPolicy(10, 10, ws).text);
  const settings = srtSettings(path.join(daemon.dir, 'srt-open.json'), [ws], []);
  const probe = path.join(ws, 'probe');
  const servers = [
    sessionProbe(daemon, policyFile, ws),
    srtServer('srt probe', settings, [probe]),
    ProbeServer.spawn('bare probe', probe, []),
  ];
  const results: Result[] = [];
  try {
    await Promise.all(servers.map((s) => s.ready()));
    const files = [
      { tag: 'workspace-file', path: path.join(ws, 'target'), ops: sizes.openOps },
      { tag: 'read-only-file', path: '/etc/passwd', ops: sizes.readOnlyOps },
    ];
    for (const f of files) {
      const ask = (s: ProbeServer) => async (): Promise<number[]> => {
        const t: Timing = await s.run(`open ${f.path} ${f.ops}`);
        return [t.meanNs, t.p99Ns];
      };
      const [leash, srt, bare] = await rotate(
        { rounds: sizes.rounds, warmup: 1, budgetMs: sizes.budgetMs },
        servers.map(ask),
      );
      const side = (rows: number[][] = []) => ({
        samples: rows.map((r) => r[0] as number),
        p99s: rows.map((r) => r[1] as number),
      });
      const what = `open+close of ${f.path}, ${f.ops} per sample; p99 per operation`;
      const peer = summarise(
        `peer_open_ns/srt/${f.tag}`,
        'ns/op',
        side(srt),
        side(bare),
        `${what}; srt ${SRT_VERSION} (bubblewrap) against the same probe bare on the host`,
      );
      const versus = summarise(
        `leash_vs_peer/open/${f.tag}`,
        'ns/op',
        side(leash),
        side(srt),
        `${what}; a Leash session (10 file rules) against srt ${SRT_VERSION}`,
      );
      log(`${peer.name}: ${peer.ratio}x; ${versus.name}: ${versus.ratio}x`);
      results.push(peer, versus);
    }
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
  return results;
}
