/**
 * Principals in the fanotify answerer, against the real kernel: an opener is judged by the
 * rules of the principal whose cgroup it is in (by the default rules in any other cgroup), and
 * a file enters the allow cache only when every principal may read and write it.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { FileRule } from '@leash/policies/dist/ir';
import { cgroupDirOf } from './cgroup';
import { cgroupName, FileGuard, type FileEvent } from './index';
import { eventually, JsonChild, requireKernel } from './kernel-test-support';

function readWrite(id: string, prefix: string, access: ('read' | 'write')[]): FileRule {
  return { id, effect: 'permit', access, match: [{ kind: 'prefix', value: prefix }] };
}

test('each principal gets its own verdicts, and the cache holds only what all may do', async (t) => {
  if (!requireKernel(t)) return;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-principals-'));
  const dir = path.join(base, 'mnt');
  fs.mkdirSync(dir);
  const leaf = `/sys/fs/cgroup/unified/leash-principal-test-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(leaf);
  const child = new JsonChild('unshare', [
    ...['--mount', '--propagation', 'private', process.execPath],
    ...[path.join(__dirname, 'fixtures', 'opener.js'), dir],
  ]);
  const events: FileEvent[] = [];
  let guard: FileGuard | undefined;
  t.after(async () => {
    guard?.close();
    await child.stop();
    fs.rmdirSync(leaf);
    fs.rmSync(base, { recursive: true, force: true });
  });

  const { pid } = await child.next<{ pid: number }>();
  const home = cgroupDirOf(pid);
  // The agent (every cgroup but the leaf) may read and write everything; the reviewer (the
  // leaf) may only read, except again.txt, which it may also write.
  guard = new FileGuard({
    mountPoints: [`/proc/${pid}/root${dir}`],
    rules: [readWrite('agent-rw', dir, ['read', 'write'])],
    onEvent: (e) => events.push(e),
  });
  guard.addPrincipal({
    cgroupPath: leaf,
    rules: [
      readWrite('reviewer-read', dir, ['read']),
      readWrite('reviewer-again', `${dir}/again.txt`, ['read', 'write']),
    ],
  });
  const open = (file: string, flags: string) => child.ask({ op: 'open', path: file, flags });
  const moveTo = (cgroup: string) => fs.writeFileSync(`${cgroup}/cgroup.procs`, String(pid));

  // Allowed for the agent, not for the reviewer: judged, never cached.
  assert.deepEqual(await open(`${dir}/ro.txt`, 'r+'), { ok: true });
  assert.deepEqual(await open(`${dir}/ro.txt`, 'r+'), { ok: true });
  // Allowed for both: cached after its first open.
  assert.deepEqual(await open(`${dir}/again.txt`, 'r+'), { ok: true });
  assert.equal(guard.stats().cached, 1);

  moveTo(leaf);
  try {
    assert.deepEqual(await open(`${dir}/ro.txt`, 'r+'), { ok: false, code: 'EPERM' });
    assert.deepEqual(await open(`${dir}/ro.txt`, 'r'), { ok: true });
    assert.deepEqual(await open(`${dir}/again.txt`, 'r+'), { ok: true });
  } finally {
    moveTo(home);
  }

  const denied = await eventually('the reviewer denial', () =>
    events.find((e) => e.decision === 'deny'),
  );
  assert.equal(denied.path, `${dir}/ro.txt`);
  assert.equal(denied.cgroup, cgroupName(leaf));
  assert.ok(events.filter((e) => e.path === `${dir}/ro.txt` && e.cgroup === undefined).length >= 2);
});
