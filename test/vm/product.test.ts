/**
 * The product inside the test VM: a real leashd, which picks the lsm backend there (the stock
 * kernel lets BPF LSM programs deny), and two `leash run --runtime process` sessions from the
 * process runtime's own suite: the default policy's denials, and the backend named and used.
 * Slow (leashd needs minutes to load under emulation), so two sessions only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInVm, vmSkip } from './vm';

test(
  'leashd serves process sessions in the VM on the lsm backend, and the default policy denies',
  { skip: vmSkip() },
  async () => {
    const run = await runInVm([
      'node',
      '--test',
      '--test-reporter=tap',
      '--test-name-pattern=keeps the default policy|enforces with the backend',
      'test/dist/e2e/process-runtime.test.js',
    ]);
    assert.equal(run.status, 0, run.output);
    // The cases themselves ran and passed (the others are left out by the pattern).
    assert.match(run.output, /^ {4}ok \d+ - keeps the default policy[^#\n]*$/m, run.output);
    assert.match(run.output, /^ {4}ok \d+ - enforces with the backend[^#\n]*$/m, run.output);
    assert.match(run.output, /^ *# backend: lsm$/m, run.output);
  },
);
