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

/** The VM's figure as a result, or undefined when the VM suite has not written one. */
export function lsmVmResult(): Result | undefined {
  if (!fs.existsSync(LSM_VM_FILE)) return undefined;
  const raw = JSON.parse(fs.readFileSync(LSM_VM_FILE, 'utf8')) as Partial<OpenCost>;
  const c = raw as OpenCost;
  for (const key of ['plainNs', 'lsmNs', 'rounds', 'rules', 'ops'] as const) {
    if (typeof c[key] !== 'number') {
      throw new Error(`${LSM_VM_FILE}: "${key}" is not a number; rerun test/vm/lsm.test.ts`);
    }
  }
  const age = (Date.now() - fs.statSync(LSM_VM_FILE).mtimeMs) / 3_600_000;
  return {
    name: `open_ratio/lsm-vm/${c.rules}-rules`,
    value: c.lsmNs,
    unit: 'ns/op',
    baseline: c.plainNs,
    ratio: Number((c.lsmNs / c.plainNs).toPrecision(5)),
    pairedRatio: Number((c.lsmNs / c.plainNs).toPrecision(5)),
    samples: c.rounds,
    median: c.lsmNs,
    p99: c.lsmNs,
    spread: 0,
    baselineP99: c.plainNs,
    baselineSpread: 0,
    note:
      `${c.what}, kernel ${c.kernel}, ${c.ops} per round, median of ${c.rounds} rounds (no ` +
      `p99 or spread recorded); from ${path.basename(LSM_VM_FILE)} written by ` +
      `test/vm/lsm.test.ts ${age.toFixed(1)} h before this run, not timed by it`,
  };
}

/** exec_ratio on the LSM backend from the same file, when the VM run measured it. */
export function lsmVmExecResult(): Result | undefined {
  if (!fs.existsSync(LSM_VM_FILE)) return undefined;
  const c = JSON.parse(fs.readFileSync(LSM_VM_FILE, 'utf8')) as OpenCost;
  const e = c.exec;
  if (e === undefined) return undefined;
  const ratio = Number((e.lsmNs / e.plainNs).toPrecision(5));
  return {
    name: 'exec_ratio/lsm-vm/3-rules',
    value: e.lsmNs,
    unit: 'ns/op',
    baseline: e.plainNs,
    ratio,
    pairedRatio: ratio,
    samples: c.rounds,
    median: e.lsmNs,
    p99: e.lsmNs,
    spread: 0,
    baselineP99: e.plainNs,
    baselineSpread: 0,
    note:
      `${e.what}, kernel ${c.kernel}, ${e.ops} per round, median of ${c.rounds} rounds; from ` +
      `${path.basename(LSM_VM_FILE)} (test/vm/lsm.test.ts); a session on lsm also waits for ` +
      'the fanotify exec answer, which this does not include',
  };
}
