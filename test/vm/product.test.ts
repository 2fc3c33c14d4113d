/**
 * The product inside the test VM: a real leashd, which picks the lsm backend there (the stock
 * kernel lets BPF LSM programs deny), and two `leash run --runtime process` sessions from the
 * process runtime's suite: the default policy's denials, and the backend named and used.
 * Slow (leashd needs minutes to load under emulation), so two sessions only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInVm, vmSkip, type VmResult } from './vm';

/**
 * Under emulation a CLI call now and then gets UNAVAILABLE from a leashd that is alive and
 * answered before (the test daemon then says "is alive"); never seen on the host, cause not
 * found (docs/lsm.md). Such a run is tried once more; any other failure is final.
 */
const EMULATION_FLAKE = /leashd is not running on [^\n]*\n\s*\[test: leashd pid \d+ is alive/;

function runCases(): Promise<VmResult> {
  return runInVm([
    'node',
    '--test',
    '--test-reporter=tap',
    '--test-name-pattern=keeps the default policy|enforces with the backend',
    'test/dist/e2e/process-runtime.test.js',
  ]);
}

test(
  'leashd serves process sessions in the VM on the lsm backend, and the default policy denies',
  { skip: vmSkip() },
  async (t) => {
    let run = await runCases();
    const lost = run.status !== 0 ? EMULATION_FLAKE.exec(run.output) : null;
    if (lost) {
      // The CLI's own words say what it saw (no socket, nothing accepting, a failed connection).
      const said = lost[0].split('\n')[0]?.trim();
      t.diagnostic(`a CLI call lost a live leashd under emulation (${said}); running again`);
      run = await runCases();
    }
    assert.equal(run.status, 0, run.output);
    // The cases themselves ran and passed (the others are left out by the pattern).
    assert.match(run.output, /^ {4}ok \d+ - keeps the default policy[^#\n]*$/m, run.output);
    assert.match(run.output, /^ {4}ok \d+ - enforces with the backend[^#\n]*$/m, run.output);
    assert.match(run.output, /^ *# backend: lsm$/m, run.output);
  },
);
