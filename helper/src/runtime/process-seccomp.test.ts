/**
 * The containers' profile compiled for process sandboxes, installed by the real leash-launch
 * (`--filter-fd`) in a child of this test: what it refuses, with which errno, and what it lets
 * through.
 */
import { addonPath, launcherPath } from '@leash/bpf';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { processSeccompFilter } from './process-seccomp';

const AF_INET = 2;
const AF_UNIX = 1;
const AF_PACKET = 17;
const AF_VSOCK = 40;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const EAFNOSUPPORT = 97;

/** Runs `argv` under leash-launch with `filter` as its profile; gives status and output. */
function underProfile(
  argv: string[],
  filter: Buffer,
): Promise<{ status: number | null; out: string; err: string }> {
  const child = spawn(launcherPath, ['--filter-fd', '3', '--', ...argv], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  (child.stdio[3] as Writable).end(filter);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    // The launcher waits for its go-ahead after its ready line.
    if (/leash-launch ready \d+ \d+\n/.test(err)) child.stdin.end('g');
  });
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, out, err })));
}

const skip = !fs.existsSync(launcherPath) && `leash-launch is not built (${launcherPath})`;

test('the profile refuses new namespaces, mounts and hard links with EPERM', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-profile-'));
  fs.writeFileSync(path.join(dir, 'f'), 'x');
  const script = [
    'unshare -U true 2>/dev/null || echo no-user-namespace',
    'unshare -m true 2>/dev/null || echo no-mount-namespace',
    `mount -t tmpfs none ${dir} 2>/dev/null || echo no-mount`,
    `ln ${dir}/f ${dir}/g 2>/dev/null || echo no-hard-link`,
    `echo y >> ${dir}/f && cat ${dir}/f`,
  ].join('; ');
  const r = await underProfile(['/bin/sh', '-c', script], processSeccompFilter());
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n'), [
    'no-user-namespace',
    'no-mount-namespace',
    'no-mount',
    'no-hard-link',
    'xy',
  ]);
});

test('the profile allows inet, inet6, unix and netlink sockets only', { skip }, async () => {
  const probe = `const a = require(${JSON.stringify(addonPath)}); console.log([${[
    [AF_UNIX, SOCK_STREAM],
    [AF_INET, SOCK_DGRAM],
    [AF_PACKET, SOCK_DGRAM],
    [AF_VSOCK, SOCK_STREAM],
    [1000, SOCK_STREAM],
  ]
    .map(([f, t]) => `a.trySocket(${f}, ${t}, 0)`)
    .join(', ')}].join(' '))`;
  const r = await underProfile([process.execPath, '-e', probe], processSeccompFilter());
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out.trim(), `0 0 ${EAFNOSUPPORT} ${EAFNOSUPPORT} ${EAFNOSUPPORT}`);
});

test('the launcher refuses to run a command without a valid profile', { skip }, async () => {
  const r = await underProfile(['/bin/true'], Buffer.from('not a program'));
  assert.equal(r.status, 126);
  assert.match(r.err, /the profile is not a seccomp program \(13 bytes\)/);
});
