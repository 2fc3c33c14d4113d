/**
 * Hot reload against the real kernel: an operation judged on more than one point (a
 * read-and-write open, a rename's two names) is judged whole by the old or the new rule set,
 * never by a mix, while rule sets switch under it as fast as they can. Prints the switch time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { FileRule } from '@leash/policies/dist/ir';
import { ChangeGuard, FileGuard, launcherPath, takeSeccompListener } from './index';
import { JsonChild, requireKernel } from './kernel-test-support';

/** A rule set that allows `allowed` (read or write) of `file` and forbids the other access. */
function onlyOne(file: string, allowed: 'read' | 'write'): FileRule[] {
  const other = allowed === 'read' ? 'write' : 'read';
  return [
    {
      id: `only-${allowed}`,
      effect: 'permit',
      access: [allowed],
      match: [{ kind: 'exact', value: file }],
    },
    {
      id: `no-${other}`,
      effect: 'forbid',
      access: [other],
      match: [{ kind: 'exact', value: file }],
    },
  ];
}

/** Switches between two rule sets until `done` settles; the switch times, in microseconds. */
async function switchUntil(
  done: Promise<unknown>,
  a: () => void,
  b: () => void,
): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true));
  const times: number[] = [];
  while (!finished) {
    for (const update of [b, a]) {
      const start = process.hrtime.bigint();
      update();
      times.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return times.sort((x, y) => x - y);
}

function median(sorted: number[]): number {
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

test('a read-and-write open is never judged by half of one rule set and half of another', async (t) => {
  if (!requireKernel(t)) return;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-reload-'));
  const dir = path.join(base, 'mnt');
  fs.mkdirSync(dir);
  const child = new JsonChild('unshare', [
    ...['--mount', '--propagation', 'private', process.execPath],
    ...[path.join(__dirname, 'fixtures', 'opener.js'), dir],
  ]);
  let guard: FileGuard | undefined;
  t.after(async () => {
    guard?.close();
    await child.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  const { pid } = await child.next<{ pid: number }>();
  const file = `${dir}/rw/data.txt`;
  const readOnly = onlyOne(file, 'read');
  const writeOnly = onlyOne(file, 'write');
  guard = new FileGuard({
    mountPoints: [`/proc/${pid}/root${dir}`],
    rules: readOnly,
    onEvent: () => undefined,
  });
  const g = guard;

  // Either set alone refuses O_RDWR; only a mix (read by one, write by the other) allows it.
  const opens = child.ask<Record<string, number>>(
    { op: 'openMany', path: file, flags: 'r+', count: 20_000 },
    120_000,
  );
  const times = await switchUntil(
    opens,
    () => g.update(readOnly),
    () => g.update(writeOnly),
  );
  const outcomes = await opens;
  assert.deepEqual(outcomes, { EPERM: 20_000 });
  assert.ok(times.length > 200, `only ${times.length} switches happened during the opens`);
  t.diagnostic(`file rule switch: median ${median(times).toFixed(1)} µs over ${times.length}`);
});

test('a rename is never judged on one name by one rule set and on the other by another', async (t) => {
  if (!requireKernel(t)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-reload-'));
  fs.writeFileSync(path.join(dir, 's'), 'source\n');
  const all: FileRule = {
    id: 'read',
    effect: 'permit',
    access: ['read'],
    match: [{ kind: 'prefix', value: '/' }],
  };
  const sourceOnly: FileRule[] = [all, ...onlyOne(`${dir}/s`, 'write').slice(0, 1)];
  const targetOnly: FileRule[] = [all, ...onlyOne(`${dir}/d`, 'write').slice(0, 1)];
  const guard = new ChangeGuard({ rules: sourceOnly, onEvent: () => undefined });
  t.after(() => {
    guard.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const child = spawn(
    launcherPath,
    [
      '--',
      'perl',
      '-e',
      'my %seen; for (1..5000) { $seen{rename("s", "d") ? "renamed" : "$!"}++ } print join(",", keys %seen), "\\n"',
    ],
    { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const ready = await new Promise<[number, number]>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^leash-launch ready (\d+) (\d+)\n/.exec(stderr);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    child.on('exit', () => reject(new Error(`leash-launch ended early: ${stderr}`)));
  });
  guard.addListener(takeSeccompListener(ready[0], ready[1]));
  child.stdin.end('g');
  const exited = new Promise((resolve) => child.on('exit', resolve));

  const times = await switchUntil(
    exited,
    () => guard.update(sourceOnly),
    () => guard.update(targetOnly),
  );
  assert.equal(stdout, 'Operation not permitted\n', stderr);
  assert.ok(fs.existsSync(path.join(dir, 's')));
  assert.ok(times.length > 100, `only ${times.length} switches happened during the renames`);
  t.diagnostic(`change rule switch: median ${median(times).toFixed(1)} µs over ${times.length}`);
});
