/**
 * The product inside the test VM: a real leashd (the backend it picks there) and one
 * `leash run --runtime process` session on the default policy, from the process runtime's
 * own suite. Slow (leashd needs minutes to load under emulation), so one session only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInVm, vmSkip } from './vm';

test(
  'leashd serves a process session in the VM, and the default policy denies there',
  { skip: vmSkip() },
  async () => {
    const run = await runInVm([
      'node',
      '--test',
      '--test-reporter=tap',
      '--test-name-pattern=keeps the default policy',
      'test/dist/e2e/process-runtime.test.js',
    ]);
    assert.equal(run.status, 0, run.output);
    // The case itself ran and passed (the others are left out by the pattern).
    assert.match(run.output, /^ {4}ok \d+ - keeps the default policy[^#\n]*$/m, run.output);
  },
);
