/**
 * open_ratio on the LSM backend: not timed by this run. test/vm/lsm.test.ts boots the test VM
 * and runs test/vm/open-cost.ts there, which writes test/bench/lsm-vm.json; when that file is
 * present its figures are carried into results.json, marked with the file's age.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Result } from './stats';

export const LSM_VM_FILE = path.resolve(__dirname, '..', '..', 'bench', 'lsm-vm.json');

interface OpenCost {
  what: string;
  kernel: string;
  ops: number;
  rounds: number;
  rules: number;
  plainNs: number;
  lsmNs: number;
  ratio: number;
  /** fork+exec under the exec hooks (absent from files written before it was measured). */
  exec?: { what: string; ops: number; plainNs: number; lsmNs: number; ratio: number };
}

/**
 * The VM's figures as results: `open` (open_ratio) when the VM suite has written the file,
 * `exec` (exec_ratio) when that run also timed execs; each undefined otherwise.
 */
export function lsmVmResults(): { open?: Result; exec?: Result } {
  if (!fs.existsSync(LSM_VM_FILE)) return {};
  const c = JSON.parse(fs.readFileSync(LSM_VM_FILE, 'utf8')) as OpenCost;
  for (const key of ['plainNs', 'lsmNs', 'rounds', 'rules', 'ops'] as const) {
    if (typeof c[key] !== 'number') {
      throw new Error(`${LSM_VM_FILE}: "${key}" is not a number; rerun test/vm/lsm.test.ts`);
    }
  }
  const age = (Date.now() - fs.statSync(LSM_VM_FILE).mtimeMs) / 3_600_000;
  const from =
    `from ${path.basename(LSM_VM_FILE)} written by test/vm/lsm.test.ts ${age.toFixed(1)} h ` +
    'before this run, not timed by it';
  const open = vmResult(
    `open_ratio/lsm-vm/${c.rules}-rules`,
    c,
    c.rounds,
    `${c.what}, kernel ${c.kernel}, ${c.ops} per round, median of ${c.rounds} rounds (no p99 ` +
      `or spread recorded); ${from}`,
  );
  const e = c.exec;
  if (e === undefined) return { open };
  const exec = vmResult(
    'exec_ratio/lsm-vm/3-rules',
    e,
    c.rounds,
    `${e.what}, kernel ${c.kernel}, ${e.ops} per round, median of ${c.rounds} rounds; ${from}; ` +
      'a session on lsm also waits for the fanotify exec answer, which this does not include',
  );
  return { open, exec };
}

/** A median per round with and without the lsm programs, as a result row. */
function vmResult(
  name: string,
  m: { lsmNs: number; plainNs: number },
  rounds: number,
  note: string,
): Result {
  const ratio = Number((m.lsmNs / m.plainNs).toPrecision(5));
  return {
    name,
    value: m.lsmNs,
    unit: 'ns/op',
    baseline: m.plainNs,
    ratio,
    pairedRatio: ratio,
    samples: rounds,
    median: m.lsmNs,
    p99: m.lsmNs,
    spread: 0,
    baselineP99: m.plainNs,
    baselineSpread: 0,
    note,
  };
}
