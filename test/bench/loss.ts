/**
 * events_loss_start: the rate at which the audit path starts losing decisions. Denied connects
 * are the source: the cgroup connect programs deny in the kernel and only report through the
 * connect guard's ring buffer, so nothing waits for user space and the probe can offer more
 * than leashd takes. Rates go up in short steps, each on a port of its own, until one loses;
 * then the highest rates that did not are held for longer, to find one leashd sustains. After
 * each step the denials that reached the store and the new loss rows are counted.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { LeashClient } from '@leash/helper/dist/cli/client';
import { fetchEvents } from '@leash/helper/dist/cli/events';
import { sleep, type TestDaemon } from '../support/leashd';
import { sessionProbe } from './kernel';
import { withPolicy } from './policies';
import { summarise, type Result } from './stats';

export interface LossSizes {
  /** Offered rates in events per second, in the order tried; 0: as fast as the probe can. */
  rates: number[];
  /** How long a paced step lasts, and the fewest and most connects one step makes. */
  stepMs: number;
  /** How long a zero-loss rate is then held, and at most how many such rates are tried. */
  holdMs: number;
  holds: number;
  minEvents: number;
  maxEvents: number;
  /** How long a step's denials may take to settle in the store once counts stop moving. */
  quietMs: number;
  /** Upper bound on one step's wait for its denials. */
  settleMs: number;
}

/** Ports the policy forbids on loopback; step i connects to FIRST_PORT + i. */
const FIRST_PORT = 9100;
const LAST_PORT = 9199;

/** The loss watch turns guard counters into loss rows once a second (loss-watch.ts). */
const LOSS_POLL_MS = 1000;

/** The most connects the probe makes for one command (MAX_OPS in probe.c). */
const MAX_CONNECTS = 1_000_000;

export interface Step {
  /** Rate asked of the probe (0: unpaced) and the rate it offered, events/s. */
  target: number;
  /** A rate held for `holdMs` after the climb. */
  held: boolean;
  offeredRate: number;
  offered: number;
  /** Denials leashd counted as it read them, and those that reached the store. */
  read: number;
  stored: number;
  /** From the step's loss rows: lost in the kernel ring, dropped in leashd, dropped by the
   *  audit queue. */
  kernel: number;
  leashd: number;
  queue: number;
  /** Stored denials per second, from the step's start to the last one stored. */
  ingestRate: number;
}

const lossy = (s: Step): boolean => s.stored < s.offered || s.kernel + s.leashd + s.queue > 0;

export async function lossStart(
  daemon: TestDaemon,
  ws: string,
  sizes: LossSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  if (sizes.rates.length + sizes.holds > LAST_PORT - FIRST_PORT) {
    throw new Error(`events_loss_start: at most ${LAST_PORT - FIRST_PORT} steps and holds`);
  }
  const policyFile = path.join(daemon.dir, 'bench-loss.cedar');
  fs.writeFileSync(
    policyFile,
    withPolicy(10, 10, ws).text +
      '\n\n@id("deny-loss-ports")\n' +
      'forbid (principal, action == Leash::Action::"Connect", resource)\n' +
      `when { resource.ip.isLoopback() && resource.port >= ${FIRST_PORT} && ` +
      `resource.port <= ${LAST_PORT} };\n`,
  );
  const name = `bench-loss-${process.pid}`;
  const client = new LeashClient(daemon.socket);
  const probe = sessionProbe(daemon, policyFile, ws, undefined, name);
  const steps: Step[] = [];
  let flatOut = 0;
  try {
    await probe.ready();
    const counts = new Counts(client, name);
    const run = async (target: number, n: number, held: boolean): Promise<Step> => {
      const port = FIRST_PORT + steps.length;
      const step = await runStep(probe, counts, port, target, Math.round(n), held, sizes);
      steps.push(step);
      log(`events_loss_start: ${describe(step)}`);
      return step;
    };

    for (const target of sizes.rates) {
      const n = target
        ? Math.min(sizes.maxEvents, Math.max(sizes.minEvents, (target * sizes.stepMs) / 1000))
        : sizes.maxEvents;
      const step = await run(target, n, false);
      if (lossy(step)) break;
      // A step that fell well short of its rate already offered all the probe can.
      if (target === 0 || step.offeredRate < 0.7 * target) break;
    }

    // A short step can end before a backlog overflows: hold zero-loss rates longer, from the
    // highest down, each next one at most half the last that lost (the store's own pace is far
    // below what a short step absorbs).
    const clean = steps.filter((s) => !lossy(s)).reverse();
    let below = Infinity;
    for (let tries = 0; tries < sizes.holds; tries++) {
      const s = clean.find((c) => (c.target || c.offeredRate) <= below);
      if (s === undefined) break;
      const rateOf = s.target || s.offeredRate;
      const n = Math.min(MAX_CONNECTS, (rateOf * sizes.holdMs) / 1000);
      if (!lossy(await run(s.target, n, true))) break;
      below = rateOf / 2;
    }
    // The most this workload offers: an unpaced burst, unless the ladder got that far.
    if (!steps.some((s) => s.target === 0)) {
      const t = await probe.run(`refused ${LAST_PORT} 0 ${sizes.minEvents} EPERM`, 120_000);
      flatOut = 1e9 / t.meanNs;
      log(`events_loss_start: unpaced burst of ${sizes.minEvents} at ${rate(flatOut)}/s`);
    }
  } finally {
    await probe.close();
    client.close();
  }
  return lossResults(steps, flatOut, sizes.holdMs);
}

/** A session's denial counts: as leashd read them, and as the store holds them. */
class Counts {
  private lossAfter = '0';

  constructor(
    private readonly client: LeashClient,
    private readonly session: string,
  ) {}

  async read(): Promise<{ read: number; stored: number }> {
    const live = await this.client.call<{ sessions: { name: string; denials: string }[] }>(
      'listSessions',
      {},
    );
    const history = await this.client.call<{ sessions: { session: string; denials: string }[] }>(
      'sessionHistory',
      {},
    );
    const read = live.sessions.find((s) => s.name === this.session);
    if (!read) throw new Error(`events_loss_start: session ${this.session} is not running`);
    const stored = history.sessions.find((s) => s.session === this.session);
    return { read: Number(read.denials), stored: Number(stored?.denials ?? 0) };
  }

  /** The loss rows since the last call, summed by where the events went: the session's
   *  guards' rows, and the audit queue's, which name no session (only this one runs). */
  async losses(): Promise<{ kernel: number; leashd: number; queue: number }> {
    const rows = await fetchEvents(this.client, { kind: 'loss', afterId: this.lossAfter });
    const sum = { kernel: 0, leashd: 0, queue: 0 };
    for (const r of rows) {
      this.lossAfter = r.id;
      const d = JSON.parse(r.details || '{}') as { kernel?: number; leashd?: number };
      if (r.resource === 'audit-queue') sum.queue += Number(r.count);
      else if (r.session === this.session) {
        sum.kernel += d.kernel ?? 0;
        sum.leashd += d.leashd ?? 0;
      }
    }
    return sum;
  }
}

async function runStep(
  probe: ReturnType<typeof sessionProbe>,
  counts: Counts,
  port: number,
  target: number,
  n: number,
  held: boolean,
  sizes: LossSizes,
): Promise<Step> {
  const before = await counts.read();
  await counts.losses();
  const started = Date.now();
  const t = await probe.run(`refused ${port} ${target} ${n} EPERM`, 120_000);

  // Wait until every denial is stored, or the counts have not moved for `quietMs`.
  let now = before;
  let moved = Date.now();
  let lastStored = started;
  const deadline = Date.now() + sizes.settleMs;
  while (now.stored - before.stored < n && Date.now() - moved < sizes.quietMs) {
    if (Date.now() > deadline) {
      throw new Error(
        `events_loss_start: ${n} denials offered at ${target || 'full'}/s, ` +
          `${now.stored - before.stored} stored after ${sizes.settleMs} ms and still rising`,
      );
    }
    await sleep(250);
    const next = await counts.read();
    if (next.read !== now.read || next.stored !== now.stored) moved = Date.now();
    if (next.stored !== now.stored) lastStored = Date.now();
    now = next;
  }
  // Let the loss watch record what the guards counted up to now.
  await sleep(LOSS_POLL_MS + 500);
  const lost = await counts.losses();
  const stored = now.stored - before.stored;
  if (stored > n) {
    throw new Error(
      `events_loss_start: ${stored} denials stored for ${n} connects on port ${port}: ` +
        'something else in the session was denied',
    );
  }
  return {
    target,
    held,
    offeredRate: 1e9 / t.meanNs,
    offered: n,
    read: now.read - before.read,
    stored,
    ...lost,
    ingestRate: stored / (Math.max(1, lastStored - started) / 1000),
  };
}

const rate = (x: number): string => Math.round(x).toLocaleString('en');

function describe(s: Step): string {
  const unaccounted = s.offered - s.stored - s.kernel - s.leashd - s.queue;
  return (
    `${s.held ? 'held ' : ''}${s.target ? `paced ${rate(s.target)}/s` : 'unpaced'}: ` +
    `${rate(s.offered)} offered at ` +
    `${rate(s.offeredRate)}/s, ${rate(s.read)} read by leashd, ${rate(s.stored)} stored ` +
    `(${rate(s.ingestRate)}/s), lost ${rate(s.kernel)} in the kernel ring, ${rate(s.leashd)} ` +
    `in leashd, ${rate(s.queue)} by the audit queue` +
    (unaccounted > 0 ? `, ${rate(unaccounted)} missing with no loss row` : '')
  );
}

/**
 * Two rows, one figure each (a step is one sample: no p99 or spread). `zero-loss`: the highest
 * rate held for `holdMs` with nothing lost, against the most this workload offers (unpaced:
 * how fast the kernel decides with no one waiting). `first-loss` (when a step lost): the
 * lowest offered rate with loss, short step or held, against that zero-loss rate.
 */
export function lossResults(steps: Step[], flatOut: number, holdMs: number): Result[] {
  const sustained = steps.filter((s) => s.held && !lossy(s));
  const lost = steps.filter(lossy).sort((a, b) => a.offeredRate - b.offeredRate);
  const first = lost[0];
  const most = Math.max(flatOut, ...steps.map((s) => s.offeredRate));
  const best = Math.max(0, ...sustained.map((s) => s.offeredRate));
  const load = os.loadavg()[0]?.toFixed(1) ?? '?';
  const stepsNote = `steps: ${steps.map(describe).join('; ')} (load average ${load})`;
  const row = (name: string, value: number, baseline: number, note: string): Result => {
    const r = summarise(name, 'events/s', { samples: [value] }, { samples: [baseline] }, note);
    // No zero-loss rate to compare with: there is no ratio.
    return baseline > 0 ? r : { ...r, ratio: 0, pairedRatio: 0 };
  };
  const held = `${holdMs / 1000} s`;
  const what =
    best === 0
      ? `no rate held ${held} without loss (0 means none)`
      : first
        ? `highest rate of denied connects held ${held} with every denial stored and no loss row`
        : `no loss up to ${rate(best)}/s held ${held}, the most this workload offered`;
  const out = [
    row(
      'events_loss_start/zero-loss',
      best,
      most,
      `${what}; baseline: the rate of denied connects the probe offers unpaced in the ` +
        `session (ratio: the share of it stored without loss); ${stepsNote}`,
    ),
  ];
  if (first) {
    out.push(
      row(
        'events_loss_start/first-loss',
        first.offeredRate,
        best,
        `lowest offered rate with loss (${first.held ? `held ${held}` : 'short step'}): ` +
          `${rate(first.offered - first.stored)} of ${rate(first.offered)} denials not ` +
          'stored; baseline: the zero-loss rate (the ratio is the gap between the two, not a ' +
          'cost)',
      ),
    );
  }
  return out;
}
