/**
 * Kernel enforcement for Leash: a typed wrapper over the leash_bpf addon, which holds the
 * fanotify answerer (FileGuard), the seccomp change supervisor (ChangeGuard), the cgroup
 * socket programs (ConnectGuard), the exec program (ExecGuard, in exec-guard.ts) and the BPF
 * LSM backend (LsmGuard, in lsm-guard.ts).
 */
import type { ConnectRule, FileRule, PathMatcher } from '@leash/policies/dist/ir';
import {
  addon,
  type NativeChangeGuard,
  type NativeConnectGuard,
  type NativeFileGuard,
} from './addon';
import { cgroupName } from './cgroup';
import { pinNewGuard, releasePin } from './pins';
import type { ExecGuard } from './exec-guard';

export { addonPath, launcherPath } from './addon';
export { cgroupName } from './cgroup';
export {
  adoptPinRoot,
  connectPinDir,
  execPinPath,
  lsmPinDir,
  releasePin,
  releasePinRoot,
} from './pins';
export * from './exec-guard';
export * from './lsm-guard';

export interface Capability {
  available: boolean;
  reason: string;
}

export interface KernelProbe {
  lsm: Capability;
  fanotify: Capability;
  cgroupBpf: Capability;
  backend: 'lsm' | 'portable' | 'none';
  reason: string;
}

export interface FileEvent {
  /** The path as seen inside the sandbox. */
  path: string;
  /** `exec`: the program of an exec refused by its path (reported only with an ExecGuard;
   *  the ExecGuard reports the execs that start). */
  access: 'read' | 'write' | 'readwrite' | 'exec';
  decision: 'allow' | 'deny';
  /** For a refused exec: argv[0..] as the caller asked for it, read from its memory while it
   *  waited (for the audit log only: its siblings could change that memory). */
  argv?: string[];
  /** The opening thread's id in leashd's PID namespace. */
  pid: number;
  comm: string;
  /** When the opener belongs to a principal added with `addPrincipal`: its cgroup, as
   *  `cgroupName` gives it. */
  cgroup?: string;
}

export interface FileGuardStats {
  asked: number;
  allowed: number;
  denied: number;
  /** Files put in the allow cache (ignore marks) since the guard started. */
  cached: number;
  /** Events not delivered because JavaScript fell behind; the opens were still answered. */
  dropped: number;
}

export type ChangeOp =
  | 'rename'
  | 'unlink'
  | 'rmdir'
  | 'truncate'
  | 'mkdir'
  | 'mknod'
  | 'symlink'
  | 'chmod'
  | 'chown'
  | 'setxattr'
  | 'removexattr'
  | 'utimes'
  // Reported by the lsm backend's hooks, which name no finer kind.
  | 'create'
  | 'link';

/** Whether a change moves or removes a name (or places a symlink), and so everything below
 *  it: such a change also needs what lies below the path. */
export function changesBelow(op: ChangeOp): boolean {
  return op === 'rename' || op === 'unlink' || op === 'rmdir' || op === 'symlink';
}

/** A change that is not an open, judged as `WriteFile` on every path it changes. */
export interface ChangeEvent {
  op: ChangeOp;
  /** The path changed, as seen inside the sandbox (for rename, the old name). */
  path: string;
  /** For rename: the new name. */
  to?: string;
  decision: 'allow' | 'deny';
  /** On a denial: which of `path` and `to` was refused (itself, or for what lies below it). */
  denied?: string;
  /** The calling thread's id in leashd's PID namespace. */
  pid: number;
  comm: string;
}

export interface ChangeGuardStats {
  asked: number;
  allowed: number;
  denied: number;
  /** Events not delivered because JavaScript fell behind; the changes were still decided. */
  dropped: number;
}

export interface NetEvent {
  ip: string;
  port: number;
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  decision: 'allow' | 'deny';
  pid: number;
  comm: string;
}

export interface ConnectGuardStats {
  /** Decisions the kernel's ring buffer had no room for. */
  lost: number;
  /** Events read from the ring buffer but not delivered because JavaScript fell behind. */
  dropped: number;
}

/** Which kernel mechanisms work here, and so which backend enforcement can use: `lsm` when a
 *  BPF LSM denial takes effect, else `portable` (fanotify), each with the cgroup programs. */
export function probeKernel(): KernelProbe {
  const native = addon();
  const lsm = native.probeLsm();
  const fanotify = native.probeFanotify();
  const cgroupBpf = native.probeCgroupBpf();

  // Sessions on lsm still keep a fanotify group, marking execs only: the argv check needs the
  // program records its answerer makes (docs/lsm.md).
  if (lsm.available && cgroupBpf.available && fanotify.available) {
    const why =
      'BPF LSM works here; opens, changes by path and programs are judged in LSM hooks, ' +
      'connects and arguments by cgroup programs';
    return { lsm, fanotify, cgroupBpf, backend: 'lsm', reason: why };
  }
  if (fanotify.available && cgroupBpf.available) {
    const why = `BPF LSM is unavailable (${lsm.reason}); using fanotify and cgroup programs`;
    return { lsm, fanotify, cgroupBpf, backend: 'portable', reason: why };
  }
  const missing = [fanotify, cgroupBpf].filter((c) => !c.available).map((c) => c.reason);
  return {
    lsm,
    fanotify,
    cgroupBpf,
    backend: 'none',
    reason: `no enforcement backend works: ${missing.join('; ')}`,
  };
}

export type BackendSetting = 'auto' | 'lsm' | 'portable';

/**
 * The backend a setting picks on a probed kernel, and why: `auto` takes the probe's choice;
 * `lsm` or `portable` forces one, and throws when the kernel cannot run it.
 */
export function selectBackend(
  probe: KernelProbe,
  setting: BackendSetting,
): { backend: KernelProbe['backend']; reason: string } {
  if (setting === 'auto') return { backend: probe.backend, reason: probe.reason };
  const parts =
    setting === 'lsm'
      ? [probe.lsm, probe.cgroupBpf, probe.fanotify]
      : [probe.fanotify, probe.cgroupBpf];
  const missing = parts.filter((c) => !c.available).map((c) => c.reason);
  if (missing.length > 0) {
    throw new Error(
      `the ${setting} backend was asked for (--backend ${setting}) but this kernel cannot run ` +
        `it: ${missing.join('; ')}; use --backend auto`,
    );
  }
  return { backend: setting, reason: `--backend ${setting} was asked for; ${probe.reason}` };
}

/**
 * Answers opens on a sandbox's mounts (fanotify permission events) from file rules, on a
 * native thread. `mountPoints` are host-visible paths of the sandbox's mounts, such as
 * `/proc/<pid>/root` and `/proc/<pid>/root/<bind mount>`; events carry sandbox-side paths.
 * With `execGuard`, each exec's program is judged by its canonical path against that guard's
 * exec rules (a refused program fails with EPERM and is reported with access `exec`) and
 * recorded for the guard's argv check; the dynamic loader mapped for a program is a read of a
 * library. Without one, programs run unjudged and unreported. A guard keeps Node's event loop
 * alive until `close()`.
 */
export class FileGuard {
  private readonly native: NativeFileGuard;

  /**
   * `caching` (default true) lets files allowed for both read and write be answered by the
   * kernel from then on (ignore marks); off, every open is asked and reported.
   */
  constructor(opts: {
    mountPoints: string[];
    rules: FileRule[];
    onEvent: (e: FileEvent) => void;
    caching?: boolean;
    execGuard?: ExecGuard;
    /** Mark execs only (where the lsm backend judges opens): the guard answers exec events,
     *  judging programs and making the records `execGuard` needs; opens pass unasked. */
    execOnly?: boolean;
  }) {
    this.native = new (addon().FileGuard)(
      opts.mountPoints,
      opts.rules,
      opts.onEvent,
      opts.caching ?? true,
      opts.execGuard?.native,
      opts.execOnly ?? false,
    );
  }

  /**
   * Swaps the rule set (and the caching setting) atomically and flushes the allow cache.
   * `principals` gives new rules for principals added before, by their cgroup directory.
   */
  update(
    rules: FileRule[],
    opts: { caching?: boolean; principals?: { cgroupPath: string; rules: FileRule[] }[] } = {},
  ): void {
    const theirs = (opts.principals ?? []).map((p): [string, FileRule[]] => [
      cgroupName(p.cgroupPath),
      p.rules,
    ]);
    this.native.update(rules, opts.caching ?? true, theirs);
  }

  /**
   * Judges the opens and execs of the tasks in `cgroupPath` (a cgroup v2 directory below the
   * sandbox's, one principal's) by `rules` and `execGuard`'s exec rules instead of the
   * guard's own. Files stay in the allow cache only while every principal may read and
   * write them.
   */
  addPrincipal(opts: { cgroupPath: string; rules: FileRule[]; execGuard?: ExecGuard }): void {
    this.native.addPrincipal(cgroupName(opts.cgroupPath), opts.rules, opts.execGuard?.native);
  }

  /** Stops answering and closes the fanotify group (pending and later opens proceed). */
  close(): void {
    this.native.close();
  }

  stats(): FileGuardStats {
    return this.native.stats();
  }

  /**
   * The fanotify group's descriptor (-1 once closed). A keeper process that inherits it and
   * never reads keeps the group alive: if this process dies, opens wait instead of passing.
   */
  groupFd(): number {
    return this.native.groupFd();
  }
}

/**
 * Performs, for a sandbox, the changes fanotify cannot see (rename, unlink, rmdir, truncate by
 * path, mkdir, mknod, symlink, and chmod, chown, extended attributes and timestamps by path or
 * descriptor) after judging each changed path as `WriteFile` by `rules`; a
 * refused change fails with EPERM. Renaming or removing a name (and placing a symlink) is
 * also refused when a forbid on writing could match something below it. The changes arrive
 * through seccomp listeners taken from leash-launch (`takeSeccompListener`). A guard keeps
 * Node's event loop alive until `close()`; once closed (or once this process is gone) the
 * intercepted calls fail with ENOSYS.
 */
export class ChangeGuard {
  private readonly native: NativeChangeGuard;

  constructor(opts: { rules: FileRule[]; onEvent: (e: ChangeEvent) => void }) {
    this.native = new (addon().ChangeGuard)(opts.rules, opts.onEvent);
  }

  /** Supervises the calls of one more listener; the guard takes the descriptor over. */
  addListener(fd: number): void {
    this.native.addListener(fd);
  }

  /** Swaps the rule set atomically: a change is judged and made under one set. */
  update(rules: FileRule[]): void {
    this.native.update(rules);
  }

  /** Stops supervising and closes every listener. */
  close(): void {
    this.native.close();
  }

  stats(): ChangeGuardStats {
    return this.native.stats();
  }
}

/**
 * A copy (close-on-exec) of descriptor `fd` of process `pid` (a host pid), which must be a
 * seccomp listener: how leashd takes the listener leash-launch created.
 */
export function takeSeccompListener(pid: number, fd: number): number {
  return addon().takeSeccompListener(pid, fd);
}

/**
 * The forbid-write rules that could match a path strictly below `dir`: moving or removing
 * `dir` would move or remove what they protect. Exact and prefix matchers are judged by their
 * values; a suffix is assumed to match something below. The same test as the supervisor's.
 */
export function forbidsBelow(rules: FileRule[], dir: string): FileRule[] {
  return rules.filter(
    (r) =>
      r.effect === 'forbid' &&
      r.access.includes('write') &&
      r.match.every((m) => holdsBelow(m, dir)),
  );
}

function underPrefix(p: string, prefix: string): boolean {
  return prefix === '/' || p === prefix || p.startsWith(prefix + '/');
}

function holdsBelow(m: PathMatcher, dir: string): boolean {
  const strictlyUnder = m.value !== dir && underPrefix(m.value, dir);
  switch (m.kind) {
    case 'exact':
      return m.negate === true || strictlyUnder;
    case 'prefix':
      return m.negate === true
        ? !underPrefix(dir, m.value)
        : strictlyUnder || underPrefix(dir, m.value);
    case 'suffix':
      return true;
  }
}

/**
 * Decides TCP connects and UDP sends of every task in a cgroup v2 directory from connect
 * rules, and limits the sockets those tasks can create; denials fail with EPERM. A guard
 * keeps Node's event loop alive until `close()`.
 */
export class ConnectGuard {
  private readonly native: NativeConnectGuard;
  private readonly pinDir: string | undefined;

  /**
   * `pinDir`: a bpffs directory to pin the programs in (see pins.ts), so that they keep
   * judging connects after this process dies; `close()` removes the pins and the directory.
   */
  constructor(opts: {
    cgroupPath: string;
    rules: ConnectRule[];
    onEvent: (e: NetEvent) => void;
    pinDir?: string;
  }) {
    this.native = new (addon().ConnectGuard)(opts.cgroupPath, opts.rules, opts.onEvent);
    this.pinDir = pinNewGuard(this.native, opts.pinDir);
  }

  /** Swaps the rule set atomically; throws a RangeError when it does not fit the kernel map. */
  update(rules: ConnectRule[]): void {
    this.native.update(rules);
  }

  /**
   * Leaves the tasks of `cgroupPath`, a cgroup directory below this guard's, to the guard
   * attached there (a principal's own): this guard's rules no longer apply to them.
   */
  delegate(cgroupPath: string): void {
    this.native.delegate(cgroupPath);
  }

  /** Detaches the programs from the cgroup (and removes their pins). */
  close(): void {
    this.native.close();
    if (this.pinDir !== undefined) releasePin(this.pinDir);
  }

  stats(): ConnectGuardStats {
    return this.native.stats();
  }
}

/** For tests: the errno `socket(family, type, protocol)` fails with in this process, or 0. */
export function trySocket(family: number, type: number, protocol: number): number {
  return addon().trySocket(family, type, protocol);
}
