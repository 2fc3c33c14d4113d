/**
 * What leashd pins in bpffs so that it outlives leashd, found again by name: one directory per
 * leashd (by its id, the socket path), one per session below it, one pin per principal's
 * exec program (`<root>/<session>/exec-<principal>`) and connect programs
 * (`<root>/<session>/connect-<principal>/<hook>`) and lsm hooks
 * (`<root>/<session>/lsm-<principal>/<hook>`). A restarted leashd removes what no
 * session of its own holds, which detaches it. bpffs refuses dots in names: they are written
 * `%2e` (and `%` as `%25`).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BPFFS = '/sys/fs/bpf';

let root: string | undefined;

/** This leashd's pin directory; undefined until `adoptPinRoot` (pins are then not made). */
export function pinRoot(): string | undefined {
  return root;
}

/**
 * Makes `<bpffs>/leash/<hash of daemonId>` this process's pin directory and removes every pin
 * an earlier leashd of the same id left there (its sessions are gone). Returns what it
 * removed. Throws when bpffs is not mounted.
 */
export function adoptPinRoot(daemonId: string, bpffs = BPFFS): string[] {
  if (fs.statfsSync(bpffs).type !== BPF_FS_MAGIC) {
    throw new Error(`${bpffs} is not a bpffs mount; mount it with \`mount -t bpf bpf ${bpffs}\``);
  }
  const hash = crypto.createHash('sha256').update(daemonId).digest('hex').slice(0, 16);
  const dir = path.join(bpffs, 'leash', hash);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const removed = fs.readdirSync(dir).map((name) => path.join(dir, name));
  for (const leftover of removed) fs.rmSync(leftover, { recursive: true, force: true });
  root = dir;
  return removed;
}

/** At leashd's orderly exit, once its sessions ended: removes its pin directory if empty. */
export function releasePinRoot(): void {
  if (root === undefined) return;
  try {
    fs.rmdirSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
  }
}

/** Where a principal's exec program of a session is pinned; makes the session's directory. */
export function execPinPath(session: string, principal: string): string | undefined {
  if (root === undefined) return undefined;
  const dir = path.join(root, pinName(session));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `exec-${pinName(principal)}`);
}

/** Where a principal's connect programs of a session are pinned (a directory, one pin per
 *  hook); makes it. */
export function connectPinDir(session: string, principal: string): string | undefined {
  if (root === undefined) return undefined;
  const dir = path.join(root, pinName(session), `connect-${pinName(principal)}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Where a principal's lsm hooks of a session are pinned (a directory, one pin per hook);
 *  makes it. */
export function lsmPinDir(session: string, principal: string): string | undefined {
  if (root === undefined) return undefined;
  const dir = path.join(root, pinName(session), `lsm-${pinName(principal)}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** After a guard pinned at `pinPath` closed (which removed its pins): removes the pin
 *  directory, and the session's when no other principal's pin is left in it. */
export function releasePin(pinPath: string): void {
  for (const dir of [pinPath, path.dirname(pinPath)]) {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
  }
}

function pinName(name: string): string {
  return name.replace(/%/g, '%25').replace(/\./g, '%2e');
}

const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Pins a guard that was just made in `pinDir`, when one is given (pins are then made, see
 * `adoptPinRoot`); if pinning fails, closes the guard and removes the directory before
 * throwing, so nothing is left attached. Gives the directory the guard's `close()` releases.
 */
export function pinNewGuard(
  guard: { pin(dir: string): void; close(): void },
  pinDir: string | undefined,
): string | undefined {
  if (pinDir === undefined) return undefined;
  try {
    guard.pin(pinDir);
  } catch (err) {
    guard.close();
    releasePin(pinDir);
    throw err;
  }
  return pinDir;
}
