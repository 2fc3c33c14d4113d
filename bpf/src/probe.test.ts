import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probeKernel } from './index';
import { requireKernel } from './kernel-test-support';

// This machine's kernel refuses BPF LSM programs (see the notes on the test machines); a
// kernel that accepts them would fail the first assertion, which is then the one to revisit.
test('probeKernel reports BPF LSM unavailable with a reason and picks the portable backend', (t) => {
  if (!requireKernel(t)) return;

  const probe = probeKernel();

  assert.equal(probe.lsm.available, false);
  assert.match(probe.lsm.reason, /lsm\/file_open/);
  assert.equal(probe.fanotify.available, true, probe.fanotify.reason);
  assert.equal(probe.cgroupBpf.available, true, probe.cgroupBpf.reason);
  assert.equal(probe.backend, 'portable');
  assert.match(probe.reason, /BPF LSM is unavailable/);
});
