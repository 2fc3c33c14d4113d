/** The VM test bed itself: a stock Debian kernel that lets BPF LSM programs run. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInVm, vmSkip } from './vm';

test(
  'the VM boots a kernel with bpf in its LSM list and returns the command exit code',
  { skip: vmSkip() },
  async () => {
    const lsm = await runInVm(['sh', '-c', 'tr , "\\n" < /sys/kernel/security/lsm | grep -qx bpf']);
    assert.equal(lsm.status, 0, `bpf is not in the guest's LSM list:\n${lsm.output}`);

    const failing = await runInVm(['sh', '-c', 'exit 7']);
    assert.equal(failing.status, 7, failing.output);
  },
);
