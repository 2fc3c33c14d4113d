/**
 * events_per_s and audit_query_ms: how fast decisions reach the audit log with nothing lost,
 * and how long the log's usual queries take once it holds a million events.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditStore } from '@leash/helper/dist/audit/store';
import type { NewEvent } from '@leash/helper/dist/audit/event';
import { sleep, type TestDaemon } from '../support/leashd';
import { plainProbe, removeBenchContainers, sessionProbe } from './kernel';
import { withPolicy } from './policies';
import { interleave, summarise, type Result } from './stats';

export interface AuditSizes {
  /** Denied opens per sample. */
  deniedOps: number;
  pairs: number;
  warmup: number;
  budgetMs: number;
  /** Events in the large store, and in the small one it is compared with. */
  largeEvents: number;
  smallEvents: number;
  queryPairs: number;
}

/**
 * events_per_s: the probe opens a file the policy forbids as fast as it can, so each open is
 * one denial that the fanotify answer, the audit queue and SQLite must all carry (denials are
 * never aggregated). Afterwards the stored denials are counted: the figure is only reported if
 * every one arrived. The baseline is the same loop in a plain container, where the open works.
 */
export async function eventsPerSecond(
  daemon: TestDaemon,
  ws: string,
  sizes: AuditSizes,
  log: (line: string) => void,
): Promise<Result> {
  const target = path.join(ws, 'denied.txt');
  fs.writeFileSync(target, 'x\n');
  const policy =
    withPolicy(10, 10, ws).text +
    `\n\n@id("deny-target")\nforbid (principal, action == Leash::Action::"ReadFile", ` +
    `resource == Leash::File::"${target}");\n`;
  const policyFile = path.join(daemon.dir, 'bench-audit.cedar');
  fs.writeFileSync(policyFile, policy);

  const plain = plainProbe(
    ws,
    `leash-bench-audit-${process.pid}`,
    path.join(daemon.dir, 'sc.json'),
  );
  const session = sessionProbe(daemon, policyFile, ws);
  let issued = 0;
  let pairs;
  try {
    await Promise.all([plain.ready(), session.ready()]);
    const before = deniedIn(daemon);
    pairs = await interleave(
      sizes,
      async () => {
        const t = await session.run(`try ${target} ${sizes.deniedOps}`);
        issued += sizes.deniedOps;
        return [1e9 / t.meanNs];
      },
      async () => [1e9 / (await plain.run(`try ${target} ${sizes.deniedOps}`)).meanNs],
    );
    // Warm-up rounds were issued too; every denial must be in the log. A busy machine may
    // store them late: wait while the count still grows (10 s without growth ends it).
    let stored = deniedIn(daemon) - before;
    let grew = Date.now();
    const deadline = Date.now() + 120_000;
    while (stored < issued && Date.now() - grew < 10_000 && Date.now() < deadline) {
      await sleep(500);
      const now = deniedIn(daemon) - before;
      if (now > stored) grew = Date.now();
      stored = now;
    }
    const lost = lossEvents(daemon);
    if (stored !== issued || lost > 0) {
      throw new Error(
        `events_per_s: ${issued} denials issued, ${stored} stored, ${lost} loss events: ` +
          'the audit path dropped events at this rate',
      );
    }
    log(`events_per_s: ${issued} denials issued and ${stored} stored, no loss`);
  } finally {
    await session.close();
    await plain.close();
    removeBenchContainers();
  }
  const side = (rows: number[][]) => ({ samples: rows.map((r) => r[0] as number) });
  return summarise(
    'events_per_s',
    'events/s',
    side(pairs.a),
    side(pairs.b),
    `denied opens per second, each stored as its own audit row (${sizes.deniedOps} per ` +
      'sample); every one was counted in the store afterwards, with no loss event; baseline: ' +
      'the same opens, allowed, in a plain container',
  );
}

/** Denials in the audit log across every session (from the per-session totals). */
function deniedIn(daemon: TestDaemon): number {
  const r = daemon.cli(['sessions', '--all', '--json']);
  if (r.status !== 0) throw new Error(`leash sessions --all failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .reduce((sum, l) => sum + Number((JSON.parse(l) as { denials: string }).denials), 0);
}

function lossEvents(daemon: TestDaemon): number {
  const r = daemon.cli(['events', '--kind', 'loss', '--json']);
  if (r.status !== 0) throw new Error(`leash events --kind loss failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).length;
}

/** A store filled with `n` events over 100 sessions, 1 in 7 a denial; its fill rate. */
function filledStore(n: number): { store: AuditStore; dir: string; perSecond: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-bench-audit-'));
  const store = new AuditStore(path.join(dir, 'audit.db'));
  const started = process.hrtime.bigint();
  for (let done = 0; done < n;) {
    const batch: NewEvent[] = [];
    for (let i = 0; i < 10_000 && done < n; i++, done++) {
      const deny = done % 7 === 3;
      batch.push({
        session: `s${done % 100}`,
        principal: 'shell',
        kind: done % 3 ? 'file' : 'net',
        action: done % 3 ? (deny ? 'WriteFile' : 'ReadFile') : 'Connect',
        resource:
          done % 3 ? `/w/src/module-${done % 5000}/file-${done}.ts` : `10.0.0.${done % 250}:443`,
        decision: deny ? 'deny' : 'allow',
        policies: deny ? [] : ['workspace-rw'],
        count: 1,
        pid: 1000 + (done % 50),
        comm: 'node',
        details: {},
      });
    }
    store.append(batch);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { store, dir, perSecond: n / seconds };
}

const QUERIES: { name: string; run: (s: AuditStore) => unknown }[] = [
  {
    // The Control UI's first page and `leash events --decision deny`.
    name: 'newest-denials',
    run: (s) => s.query({ session: 's42', decision: 'deny', limit: 100, newest: true }),
  },
  { name: 'text-search', run: (s) => s.query({ session: 's7', text: 'module-4321/', limit: 100 }) },
  { name: 'session-totals', run: (s) => s.sessionCounts() },
];

/** audit_query_ms: each query on `largeEvents` against the same query on `smallEvents`. */
export async function auditQueries(
  sizes: AuditSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  const large = filledStore(sizes.largeEvents);
  log(`audit store filled with ${sizes.largeEvents} events at ${large.perSecond.toFixed(0)}/s`);
  const small = filledStore(sizes.smallEvents);
  const results: Result[] = [];
  try {
    for (const q of QUERIES) {
      const time = (store: AuditStore) => async (): Promise<number[]> => {
        const t = process.hrtime.bigint();
        q.run(store);
        return [Number(process.hrtime.bigint() - t) / 1e6];
      };
      const pairs = await interleave(
        { pairs: sizes.queryPairs, warmup: 2, budgetMs: sizes.budgetMs },
        time(large.store),
        time(small.store),
      );
      const side = (rows: number[][]) => ({ samples: rows.map((r) => r[0] as number) });
      const result = summarise(
        `audit_query_ms/${q.name}`,
        'ms',
        side(pairs.a),
        side(pairs.b),
        `one query on ${sizes.largeEvents.toLocaleString('en')} events over 100 sessions; ` +
          `baseline: the same query on ${sizes.smallEvents.toLocaleString('en')} events`,
      );
      log(`audit_query_ms/${q.name}: ${result.value} ms (${result.ratio}x the small store)`);
      results.push(result);
    }
  } finally {
    for (const s of [large, small]) {
      s.store.close();
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }
  return results;
}
