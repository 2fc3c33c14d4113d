/**
 * Kernel enforcement for Leash: a typed wrapper over the leash_bpf addon, which holds the
 * fanotify answerer (FileGuard) and the cgroup socket programs (ConnectGuard).
 */
import * as path from 'node:path';
import type { ConnectRule, FileRule } from '@leash/policies/dist/ir';

export interface Capability {
  available: boolean;
  reason: string;
}

export interface KernelProbe {
  lsm: Capability;
  fanotify: Capability;
  cgroupBpf: Capability;
  backend: 'portable' | 'none';
  reason: string;
}

export interface FileEvent {
  /** The path as seen inside the sandbox. */
  path: string;
  access: 'read' | 'write' | 'readwrite';
  decision: 'allow' | 'deny';
  /** The opening thread's id in leashd's PID namespace. */
  pid: number;
  comm: string;
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

interface NativeFileGuard {
  update(rules: FileRule[], caching: boolean): void;
  groupFd(): number;
  close(): void;
  stats(): FileGuardStats;
}

interface NativeConnectGuard {
  update(rules: ConnectRule[]): void;
  close(): void;
  stats(): ConnectGuardStats;
}

interface Addon {
  probeLsm(): Capability;
  probeFanotify(): Capability;
  probeCgroupBpf(): Capability;
  trySocket(family: number, type: number, protocol: number): number;
  FileGuard: new (
    mountPoints: string[],
    rules: FileRule[],
    onEvent: (e: FileEvent) => void,
    caching: boolean,
  ) => NativeFileGuard;
  ConnectGuard: new (
    cgroupPath: string,
    rules: ConnectRule[],
    onEvent: (e: NetEvent) => void,
  ) => NativeConnectGuard;
}

export const addonPath = path.join(__dirname, '..', 'build', 'Release', 'leash_bpf.node');

let loaded: Addon | undefined;

function addon(): Addon {
  if (loaded === undefined) {
    try {
      loaded = require(addonPath) as Addon;
    } catch (err) {
      throw new Error(
        `cannot load the leash_bpf addon at ${addonPath} (${(err as Error).message}); ` +
          'build it with `npm run build:native`',
      );
    }
  }
  return loaded;
}

/** Which kernel mechanisms work here, and so which backend enforcement can use. */
export function probeKernel(): KernelProbe {
  const native = addon();
  const lsm = native.probeLsm();
  const fanotify = native.probeFanotify();
  const cgroupBpf = native.probeCgroupBpf();

  if (fanotify.available && cgroupBpf.available) {
    const why = lsm.available
      ? 'BPF LSM is available but its backend is not built yet; using fanotify and cgroup programs'
      : `BPF LSM is unavailable (${lsm.reason}); using fanotify and cgroup programs`;
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

/**
 * Answers opens on a sandbox's mounts (fanotify permission events) from file rules, on a
 * native thread. `mountPoints` are host-visible paths of the sandbox's mounts, such as
 * `/proc/<pid>/root` and `/proc/<pid>/root/<bind mount>`; events carry sandbox-side paths.
 * Program execution is always allowed in this cut (the compiler requires Exec be permitted)
 * and raises no event. A guard keeps Node's event loop alive until `close()`.
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
  }) {
    this.native = new (addon().FileGuard)(
      opts.mountPoints,
      opts.rules,
      opts.onEvent,
      opts.caching ?? true,
    );
  }

  /** Swaps the rule set (and the caching setting) atomically and flushes the allow cache. */
  update(rules: FileRule[], opts: { caching?: boolean } = {}): void {
    this.native.update(rules, opts.caching ?? true);
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
 * Decides TCP connects and UDP sends of every task in a cgroup v2 directory from connect
 * rules, and limits the sockets those tasks can create; denials fail with EPERM. A guard
 * keeps Node's event loop alive until `close()`.
 */
export class ConnectGuard {
  private readonly native: NativeConnectGuard;

  constructor(opts: { cgroupPath: string; rules: ConnectRule[]; onEvent: (e: NetEvent) => void }) {
    this.native = new (addon().ConnectGuard)(opts.cgroupPath, opts.rules, opts.onEvent);
  }

  /** Swaps the rule set atomically; throws a RangeError when it does not fit the kernel map. */
  update(rules: ConnectRule[]): void {
    this.native.update(rules);
  }

  /** Detaches the programs from the cgroup. */
  close(): void {
    this.native.close();
  }

  stats(): ConnectGuardStats {
    return this.native.stats();
  }
}

/** For tests: the errno `socket(family, type, protocol)` fails with in this process, or 0. */
export function trySocket(family: number, type: number, protocol: number): number {
  return addon().trySocket(family, type, protocol);
}
