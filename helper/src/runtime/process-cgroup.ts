/**
 * The cgroup v2 directory of each process sandbox, under `leash/` in the unified hierarchy:
 * leashd creates it, the sandbox's init enters it before it unshares its cgroup namespace (so
 * that namespace is rooted there), and the guards attach to it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where cgroup2 is mounted: /sys/fs/cgroup/unified on hybrid hosts, else /sys/fs/cgroup. */
export function cgroupV2Root(): string {
  for (const dir of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    if (fs.existsSync(path.join(dir, 'cgroup.procs'))) return dir;
  }
  throw new Error(
    'no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified; ' +
      'mount it with `mount -t cgroup2 none /sys/fs/cgroup/unified`',
  );
}

/** The parent of every process sandbox's cgroup. */
export function sandboxesCgroup(): string {
  return path.join(cgroupV2Root(), 'leash');
}

/** The containers' limit on a sandbox's processes and threads. */
const PIDS_MAX = 4096;

/**
 * Creates a fresh cgroup for a session's sandbox, with the containers' pids limit where the
 * hierarchy hands the pids controller down to `leash/` (hybrid hosts keep it in cgroup v1, and
 * then there is none).
 */
export function createSandboxCgroup(session: string): string {
  const parent = sandboxesCgroup();
  fs.mkdirSync(parent, { recursive: true });
  const offered = fs.readFileSync(path.join(parent, 'cgroup.controllers'), 'utf8').split(/\s+/);
  if (offered.includes('pids')) {
    fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+pids');
  }
  const dir = path.join(parent, `${session}-${crypto.randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir);
  if (offered.includes('pids')) fs.writeFileSync(path.join(dir, 'pids.max'), String(PIDS_MAX));
  return dir;
}

/** Moves a process (host pid) into a cgroup. */
export function enterCgroup(dir: string, pid: number): void {
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), `${pid}\n`);
}

/** Removes a sandbox's cgroup (with its principals' leaves) once its processes are gone;
 *  gives up after `ms`. */
export async function removeCgroup(dir: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  const children = fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : [];
  for (const child of children) {
    if (child.isDirectory()) await removeCgroup(path.join(dir, child.name), ms);
  }
  for (;;) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) {
        throw new Error(`could not remove cgroup ${dir}: ${(err as Error).message}`);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How old an empty cgroup must be to count as left behind: another leashd may have just
 *  made it for a sandbox whose init is about to enter it. */
const LEFT_BEHIND_MS = 60_000;

/** Removes the empty cgroups of process sandboxes an earlier leashd left; a cgroup with
 *  processes in it (a live session of another leashd) stays. Gives the ones removed. */
export function removeEmptySandboxCgroups(): string[] {
  const parent = sandboxesCgroup();
  if (!fs.existsSync(parent)) return [];
  const removed: string[] = [];
  for (const entry of fs.readdirSync(parent, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(parent, entry.name);
    if (Date.now() - fs.statSync(dir).mtimeMs < LEFT_BEHIND_MS) continue;
    if (fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() !== '') continue;
    try {
      fs.rmdirSync(dir);
      removed.push(dir);
    } catch (err) {
      // A child cgroup (a principal's leaf) keeps it busy; its session is still alive.
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    }
  }
  return removed;
}
