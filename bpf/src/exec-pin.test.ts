/**
 * The exec and connect programs outlive the process that loaded them: pinned in bpffs, they
 * keep judging (the exec program refusing programs no record names) the execs and connects of
 * their cgroups after that process is killed, until a restarted leashd of the same id finds
 * the pins by name and removes them.
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

/** Connects to 127.0.0.1:9 (nothing listens) from inside `cgroup`; how it failed. */
function connectFrom(cgroup: string): string {
  const r = spawnSync(
    'bash',
    ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec 3<>/dev/tcp/127.0.0.1/9`],
    { encoding: 'utf8' },
  );
  return /Operation not permitted|Connection refused/.exec(r.stderr)?.[0] ?? r.stderr;
}

test('pinned exec and connect programs keep refusing after their loader is killed, until their pins are removed', async (t) => {
  if (!requireKernel(t)) return;
  const id = crypto.randomBytes(4).toString('hex');
  const cgroup = `/sys/fs/cgroup/unified/leash-pin-${id}`;
  const netCgroup = `/sys/fs/cgroup/unified/leash-pin-net-${id}`;
  fs.mkdirSync(cgroup);
  fs.mkdirSync(netCgroup);
  const daemonId = `/test/leash-pin-${crypto.randomBytes(4).toString('hex')}.sock`;
  const loader = new JsonChild(process.execPath, [
    path.join(__dirname, 'fixtures', 'pinned-guards.js'),
    daemonId,
    cgroup,
    netCgroup,
  ]);
  t.after(async () => {
    await loader.stop();
    adoptPinRoot(daemonId);
    fs.rmdirSync(pinRoot() ?? '');
    fs.rmdirSync(cgroup);
    fs.rmdirSync(netCgroup);
  });

  const { pin } = await loader.next<{ pin: string }>();
  assert.equal(runTrue(cgroup), 'SIGKILL');
  assert.equal(runTrue(), 'status 0');
  assert.equal(connectFrom(netCgroup), 'Operation not permitted');

  loader.process.kill('SIGKILL');
  await new Promise((resolve) => loader.process.once('exit', resolve));
  assert.ok(fs.existsSync(pin));
  assert.equal(runTrue(cgroup), 'SIGKILL');
  assert.equal(connectFrom(netCgroup), 'Operation not permitted');

  // A restarted leashd of the same id removes what its dead predecessor pinned.
  const removed = adoptPinRoot(daemonId);
  assert.deepEqual(removed, [path.dirname(pin)]);
  assert.equal(fs.existsSync(pin), false);
  assert.equal(await eventuallyRuns(cgroup), 'status 0');
  assert.equal(connectFrom(netCgroup), 'Connection refused');
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
