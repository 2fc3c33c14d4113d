/** Summaries of paired samples: what every entry of results.json holds. */

export interface Result {
  name: string;
  /** Leash's median, in `unit` (the headline figure; equal to `median`). */
  value: number;
  unit: string;
  /** The same work without Leash, measured in the same run: its median, in `unit`. */
  baseline: number;
  /** value / baseline. */
  ratio: number;
  /** The median of each Leash sample divided by the baseline sample taken next to it: less
   *  sensitive than `ratio` to a machine whose speed drifts during the run. */
  pairedRatio: number;
  /** Measured samples per side (Leash and baseline alternate). */
  samples: number;
  median: number;
  /** 99th percentile of Leash's samples (or of its per-operation latencies; see `note`). */
  p99: number;
  /** (p90 − p10) / median of Leash's samples: how much one sample varies. */
  spread: number;
  baselineP99: number;
  baselineSpread: number;
  note: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: number[]): number => percentile(values, 50);

export function spread(values: number[]): number {
  const m = median(values);
  return m === 0 ? 0 : (percentile(values, 90) - percentile(values, 10)) / m;
}

export interface Side {
  /** One figure per sample (a per-operation mean, or one operation's duration). */
  samples: number[];
  /** Per-sample tail figures when a sample is many operations; else the samples' own p99. */
  p99s?: number[];
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits + 2));

export function summarise(
  name: string,
  unit: string,
  leash: Side,
  base: Side,
  note: string,
): Result {
  const value = median(leash.samples);
  const baseline = median(base.samples);
  const p99Of = (s: Side): number => (s.p99s ? median(s.p99s) : percentile(s.samples, 99));
  return {
    name,
    value: round(value),
    unit,
    baseline: round(baseline),
    ratio: round(value / baseline),
    pairedRatio: round(median(leash.samples.map((x, i) => x / (base.samples[i] as number)))),
    samples: leash.samples.length,
    median: round(value),
    p99: round(p99Of(leash)),
    spread: round(spread(leash.samples)),
    baselineP99: round(p99Of(base)),
    baselineSpread: round(spread(base.samples)),
    note,
  };
}

/** Runs `a` and `b` alternately (A, B, A, B…), first `warmup` pairs unrecorded, until `pairs`
 *  pairs are recorded or `budgetMs` has passed (at least 3 pairs either way). */
export async function interleave(
  opts: { pairs: number; warmup: number; budgetMs: number },
  a: () => Promise<number[]>,
  b: () => Promise<number[]>,
): Promise<{ a: number[][]; b: number[][] }> {
  for (let i = 0; i < opts.warmup; i++) {
    await a();
    await b();
  }
  const out = { a: [] as number[][], b: [] as number[][] };
  const deadline = Date.now() + opts.budgetMs;
  while (out.a.length < opts.pairs && (out.a.length < 3 || Date.now() < deadline)) {
    // Alternate which side goes first so neither always follows the other.
    if (out.a.length % 2 === 0) {
      out.a.push(await a());
      out.b.push(await b());
    } else {
      out.b.push(await b());
      out.a.push(await a());
    }
  }
  return out;
}

/** Like `interleave` for any number of sides: each round runs every side once, the order
 *  rotating by one each round, so no side always follows the same other. */
export async function rotate(
  opts: { rounds: number; warmup: number; budgetMs: number },
  sides: Array<() => Promise<number[]>>,
): Promise<number[][][]> {
  const out: number[][][] = sides.map(() => []);
  const round = async (r: number, keep: boolean): Promise<void> => {
    for (let k = 0; k < sides.length; k++) {
      const i = (r + k) % sides.length;
      const row = await (sides[i] as () => Promise<number[]>)();
      if (keep) (out[i] as number[][]).push(row);
    }
  };
  for (let r = 0; r < opts.warmup; r++) await round(r, false);
  const deadline = Date.now() + opts.budgetMs;
  for (let r = 0; r < opts.rounds && (r < 3 || Date.now() < deadline); r++) {
    await round(opts.warmup + r, true);
  }
  return out;
}
