import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { FileRule } from '@leash/policies/dist/ir';
import { FileGuard, type FileEvent } from './index';
import { eventually, JsonChild, requireKernel } from './kernel-test-support';

interface Outcome {
  ok: boolean;
  code?: string;
}

function rulesFor(dir: string): FileRule[] {
  return [
    { id: 'read-dir', effect: 'permit', access: ['read'], match: [{ kind: 'prefix', value: dir }] },
    {
      id: 'write-rw',
      effect: 'permit',
      access: ['read', 'write'],
      match: [{ kind: 'prefix', value: `${dir}/rw` }],
    },
    {
      id: 'no-secrets',
      effect: 'forbid',
      access: ['read', 'write'],
      match: [{ kind: 'suffix', value: '.secret' }],
    },
    {
      id: 'tool-unreadable',
      effect: 'forbid',
      access: ['read'],
      match: [{ kind: 'exact', value: `${dir}/tool` }],
    },
  ];
}

test('FileGuard decides opens on a sandbox mount from file rules', async (t) => {
  if (!requireKernel(t)) return;

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-fg-'));
  const dir = path.join(base, 'mnt');
  fs.mkdirSync(dir);
  const outside = path.join(base, 'outside.txt');
  fs.writeFileSync(outside, 'host file\n');

  const child = new JsonChild('unshare', [
    '--mount',
    '--propagation',
    'private',
    process.execPath,
    path.join(__dirname, 'fixtures', 'opener.js'),
    dir,
  ]);
  const events: FileEvent[] = [];
  let guard: FileGuard | undefined;
  t.after(async () => {
    guard?.close();
    await child.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  const { pid } = await child.next<{ pid: number }>();
  guard = new FileGuard({
    mountPoints: [`/proc/${pid}/root${dir}`],
    rules: rulesFor(dir),
    onEvent: (e) => events.push(e),
  });
  const open = (file: string, flags = 'r') => child.ask<Outcome>({ op: 'open', path: file, flags });
  const eventFor = (file: string, access: FileEvent['access']) =>
    eventually(`an event for ${access} of ${file}`, () =>
      events.find((e) => e.path === file && e.access === access),
    );

  await t.test('a read of a readable file succeeds and is reported', async () => {
    assert.deepEqual(await open(`${dir}/ro.txt`), { ok: true });
    const event = await eventFor(`${dir}/ro.txt`, 'read');
    assert.equal(event.decision, 'allow');
    assert.equal(event.comm, 'node');
    assert.ok(event.pid > 0);
  });

  await t.test('a write of a read-only file fails with EPERM', async () => {
    assert.deepEqual(await open(`${dir}/ro.txt`, 'a'), { ok: false, code: 'EPERM' });
    assert.equal((await eventFor(`${dir}/ro.txt`, 'write')).decision, 'deny');
    assert.deepEqual(await open(`${dir}/ro.txt`, 'r+'), { ok: false, code: 'EPERM' });
    assert.equal((await eventFor(`${dir}/ro.txt`, 'readwrite')).decision, 'deny');
  });

  await t.test('a forbid wins over a permit', async () => {
    assert.deepEqual(await open(`${dir}/a.secret`), { ok: false, code: 'EPERM' });
    assert.equal((await eventFor(`${dir}/a.secret`, 'read')).decision, 'deny');
  });

  await t.test('creating a file where writes are permitted succeeds', async () => {
    assert.deepEqual(await open(`${dir}/rw/new.txt`, 'w'), { ok: true });
    assert.equal((await eventFor(`${dir}/rw/new.txt`, 'write')).decision, 'allow');
  });

  await t.test('opens outside the marked mount are untouched', async () => {
    const before = guard!.stats().asked;
    assert.deepEqual(await open(outside, 'r+'), { ok: true });
    assert.equal(guard!.stats().asked, before);
    assert.equal(events.filter((e) => e.path.endsWith('outside.txt')).length, 0);
  });

  await t.test('running a program is exec, not a read of it', async () => {
    assert.deepEqual(await child.ask<Outcome>({ op: 'exec', path: `${dir}/tool` }), { ok: true });
    assert.deepEqual(await open(`${dir}/tool`), { ok: false, code: 'EPERM' });
  });

  await t.test('a file allowed for every access is cached after its first open', async () => {
    assert.deepEqual(await open(`${dir}/rw/data.txt`, 'r+'), { ok: true });
    assert.equal((await eventFor(`${dir}/rw/data.txt`, 'readwrite')).decision, 'allow');
    const stats = guard!.stats();
    assert.ok(stats.cached >= 1, `cached ${stats.cached}`);

    assert.deepEqual(await open(`${dir}/rw/data.txt`), { ok: true });
    assert.equal(guard!.stats().asked, stats.asked);
  });

  await t.test('update refuses a malformed rule set and keeps the running one', async () => {
    const bad = [
      { id: 'bad', effect: 'permit', access: ['read'], match: [{ kind: 'glob', value: '*' }] },
    ];
    assert.throws(
      () => guard!.update(bad as unknown as FileRule[]),
      /unknown path matcher kind `glob`/,
    );
    assert.deepEqual(await open(`${dir}/ro.txt`), { ok: true });
    assert.deepEqual(await open(`${dir}/a.secret`), { ok: false, code: 'EPERM' });
  });

  await t.test('update swaps the rules and flushes the allow cache', async () => {
    guard!.update([
      ...rulesFor(dir),
      {
        id: 'rw-frozen',
        effect: 'forbid',
        access: ['write'],
        match: [{ kind: 'prefix', value: `${dir}/rw` }],
      },
      {
        id: 'ro-writable',
        effect: 'permit',
        access: ['write'],
        match: [{ kind: 'exact', value: `${dir}/ro.txt` }],
      },
    ]);
    assert.deepEqual(await open(`${dir}/rw/data.txt`, 'r+'), { ok: false, code: 'EPERM' });
    assert.deepEqual(await open(`${dir}/rw/data.txt`), { ok: true });
    assert.deepEqual(await open(`${dir}/ro.txt`, 'a'), { ok: true });
    const denied = events.filter((e) => e.path === `${dir}/rw/data.txt` && e.decision === 'deny');
    assert.ok(denied.length >= 1);
  });

  await t.test('stats count the answers', async () => {
    // An open still being answered is counted as asked, not yet as allowed or denied.
    const stats = await eventually('every open asked to be answered', () => {
      const s = guard!.stats();
      return s.asked === s.allowed + s.denied ? s : undefined;
    });
    assert.ok(stats.denied >= 5, `denied ${stats.denied}`);
    assert.equal(stats.dropped, 0);
  });
});

test('FileGuard refuses to mark a mount of its own mount namespace', (t) => {
  if (!requireKernel(t)) return;
  assert.throws(
    () => new FileGuard({ mountPoints: [os.tmpdir()], rules: [], onEvent: () => undefined }),
    /own mount namespace/,
  );
});

// The shell moves into a tmpfs with pivot_root, as container runtimes do, keeping only /usr.
const pivotScript = `
set -e
mount -t tmpfs leash-test "$0"
mkdir -p "$0/usr" "$0/old" "$0/data"
ln -s usr/bin "$0/bin"; ln -s usr/lib "$0/lib"; ln -s usr/lib64 "$0/lib64"
mount --rbind /usr "$0/usr"
echo content > "$0/data/open.txt"
echo content > "$0/data/closed.txt"
cd "$0"
pivot_root . old
cd /
echo "{\\"pid\\":$$}"
while read -r file; do
  if out=$(cat "/data/$file" 2>&1); then echo '{"ok":true}'; else echo '{"ok":false}'; fi
done
`;

test('FileGuard events carry the path as seen inside a pivot_root sandbox', async (t) => {
  if (!requireKernel(t)) return;

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-fg-root-'));
  const child = new JsonChild('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    pivotScript,
    root,
  ]);
  const events: FileEvent[] = [];
  let guard: FileGuard | undefined;
  t.after(async () => {
    guard?.close();
    await child.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const { pid } = await child.next<{ pid: number }>();
  guard = new FileGuard({
    mountPoints: [`/proc/${pid}/root`],
    rules: [
      {
        id: 'open',
        effect: 'permit',
        access: ['read'],
        match: [{ kind: 'exact', value: '/data/open.txt' }],
      },
    ],
    onEvent: (e) => events.push(e),
  });
  child.process.stdin.write('open.txt\n');
  assert.deepEqual(await child.next(), { ok: true });
  child.process.stdin.write('closed.txt\n');
  assert.deepEqual(await child.next(), { ok: false });

  const seen = await eventually('events for both files', () =>
    events.length >= 2 ? events.map((e) => [e.path, e.decision, e.comm]) : undefined,
  );
  assert.deepEqual(seen, [
    ['/data/open.txt', 'allow', 'cat'],
    ['/data/closed.txt', 'deny', 'cat'],
  ]);
});
