/**
 * The lsm backend: file opens, changes by path and execs of the tasks in a session's cgroups
 * judged in BPF LSM hooks (src/lsm.bpf.c) from the same file and exec rules as the portable
 * backend, with no user-space round trip. Denials are EPERM. Only kernels that let BPF LSM
 * programs take effect can run it: check `probeKernel().lsm` first.
 */
import type { ExecRule, FileRule } from '@leash/policies/dist/ir';
import { addon } from './addon';
import { pinNewGuard, releasePin } from './pins';

/** The kernel's bounds (src/lsm.h); rule sets past them are refused with a RangeError. */
export const LSM_LIMITS = {
  /** File rules, and separately exec rules, of one set. */
  rules: 64,
  /** Path matchers of one rule. */
  matchers: 4,
  /** Bytes of one suffix matcher. */
  suffixBytes: 64,
  /** Bytes of a path (PATH_MAX); a longer path is denied. */
  pathBytes: 4096,
  /** Further principals of one guard, each with a rule slot of its own (src/lsm.h). */
  principals: 7,
} as const;

function withDefaults(opts: LsmOptions): Required<LsmOptions> {
  return { enforce: opts.enforce ?? true, reportAllowed: opts.reportAllowed ?? false };
}

/**
 * What was judged: an open (`read`, `write`, `readwrite`), an exec by path or a program the
 * dynamic loader mapped (`exec`), or a change judged as `WriteFile` on `path`.
 */
export type LsmAccess =
  | 'read'
  | 'write'
  | 'readwrite'
  | 'exec'
  | 'create'
  | 'unlink'
  | 'rmdir'
  | 'rename'
  | 'link'
  | 'truncate';

export interface LsmEvent {
  /** The path as the task sees it (cut at 1,023 bytes). */
  path: string;
  access: LsmAccess;
  decision: 'allow' | 'deny' | 'would-deny';
  /** Refused for what a forbid protects below `path` (renaming or removing a directory). */
  below?: boolean;
  /** For a rename: `path` is the new name. */
  to?: boolean;
  /** The rule slot that judged it: 0 for the guard's own cgroup, else what `addPrincipal`
   *  gave. */
  slot: number;
  /** The thread's id in leashd's PID namespace. */
  pid: number;
  comm: string;
}

export interface LsmGuardStats {
  /** Accesses of judged tasks. */
  asked: number;
  allowed: number;
  denied: number;
  /** Decisions the kernel's ring buffer had no room for. */
  lost: number;
  /** Events read but not delivered because JavaScript fell behind. */
  dropped: number;
}

export interface LsmOptions {
  /** Off (shadow, record): decisions are reported, would-denials allowed. Default on. */
  enforce?: boolean;
  /** Report allowed accesses too, not only denials. Default off. */
  reportAllowed?: boolean;
}

export interface NativeLsmGuard {
  update(files: FileRule[], exec: ExecRule[], opts: LsmOptions, slot: number): void;
  addPrincipal(cgroupPath: string, files: FileRule[], exec: ExecRule[], opts: LsmOptions): number;
  pin(dir: string): void;
  close(): void;
  stats(): LsmGuardStats;
}

/**
 * Judges the tasks of a cgroup v2 directory (and of cgroups below it) by file rules and by
 * the program part of exec rules; argv/args matchers stay with ExecGuard. Renaming or removing
 * a directory is also refused when a forbid on writing could match something below it, as in
 * ChangeGuard. A guard keeps Node's event loop alive until `close()`, which detaches it.
 */
export class LsmGuard {
  private readonly native: NativeLsmGuard;
  private readonly pinDir: string | undefined;

  constructor(opts: {
    cgroupPath: string;
    rules: FileRule[];
    execRules?: ExecRule[];
    onEvent: (e: LsmEvent) => void;
    enforce?: boolean;
    reportAllowed?: boolean;
    /** A bpffs directory (pins.ts `lsmPinDir`) to pin the hooks in, so that they keep judging
     *  by the last rules after this process dies; `close()` removes the pins. */
    pinDir?: string;
  }) {
    this.native = new (addon().LsmGuard)(
      opts.cgroupPath,
      opts.rules,
      opts.execRules ?? [],
      opts.onEvent,
      withDefaults(opts),
    );
    this.pinDir = pinNewGuard(this.native, opts.pinDir);
  }

  /** Swaps the rule sets of a slot (the guard's own by default) atomically (a generation
   *  flip: an access is judged by one set); throws a RangeError when they do not fit the
   *  kernel's bounds (LSM_LIMITS). */
  update(rules: FileRule[], execRules: ExecRule[] = [], opts: LsmOptions = {}, slot = 0): void {
    this.native.update(rules, execRules, withDefaults(opts), slot);
  }

  /**
   * Judges the tasks of `cgroupPath`, a cgroup v2 directory below the guard's (a principal's
   * leaf), by rules of their own in a new slot, and gives the slot (events carry it; `update`
   * takes it). At most LSM_LIMITS.principals such slots.
   */
  addPrincipal(
    cgroupPath: string,
    rules: FileRule[],
    execRules: ExecRule[] = [],
    opts: LsmOptions = {},
  ): number {
    return this.native.addPrincipal(cgroupPath, rules, execRules, withDefaults(opts));
  }

  /** Detaches the programs (removing their pins): the cgroups' tasks are no longer judged. */
  close(): void {
    this.native.close();
    if (this.pinDir !== undefined) releasePin(this.pinDir);
  }

  stats(): LsmGuardStats {
    return this.native.stats();
  }
}
