/**
 * The exec program outlives the process that loaded it: pinned in bpffs, it keeps judging
 * (and, for programs no record names, refusing) the execs of its cgroup after that process
 * is killed, until a restarted leashd of the same id finds the pin by name and removes it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { adoptPinRoot, pinRoot } from './pins';
import { JsonChild, requireKernel } from './kernel-test-support';

/** Runs /usr/bin/true from inside `cgroup` (or from here when undefined); how it ended. */
function runTrue(cgroup?: string): string {
  const enter = cgroup === undefined ? '' : `echo $$ > ${cgroup}/cgroup.procs && `;
  const r = spawnSync('sh', ['-c', `${enter}exec /usr/bin/true`]);
  return r.signal ?? `status ${r.status}`;
}

test('a pinned exec program keeps refusing after its loader is killed, until its pin is removed', async (t) => {
  if (!requireKernel(t)) return;
  const cgroup = `/sys/fs/cgroup/unified/leash-pin-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(cgroup);
  const daemonId = `/test/leash-pin-${crypto.randomBytes(4).toString('hex')}.sock`;
  const loader = new JsonChild(process.execPath, [
    path.join(__dirname, 'fixtures', 'pinned-exec.js'),
    daemonId,
    cgroup,
  ]);
  t.after(async () => {
    await loader.stop();
    adoptPinRoot(daemonId);
    fs.rmdirSync(pinRoot() ?? '');
    fs.rmdirSync(cgroup);
  });

  const { pin } = await loader.next<{ pin: string }>();
  assert.equal(runTrue(cgroup), 'SIGKILL');
  assert.equal(runTrue(), 'status 0');

  loader.process.kill('SIGKILL');
  await new Promise((resolve) => loader.process.once('exit', resolve));
  assert.ok(fs.existsSync(pin));
  assert.equal(runTrue(cgroup), 'SIGKILL');

  // A restarted leashd of the same id removes what its dead predecessor pinned.
  const removed = adoptPinRoot(daemonId);
  assert.deepEqual(removed, [path.dirname(pin)]);
  assert.equal(fs.existsSync(pin), false);
  assert.equal(await eventuallyRuns(cgroup), 'status 0');
});

/** Removing a pin detaches its program with a short delay: polls until an exec runs. */
async function eventuallyRuns(cgroup: string): Promise<string> {
  let outcome = runTrue(cgroup);
  for (let i = 0; i < 50 && outcome !== 'status 0'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    outcome = runTrue(cgroup);
  }
  return outcome;
}
