/**
 * Exec enforcement: program paths judged by the fanotify answerer at each exec's permission
 * event (a refusal is EPERM from execve), argv judged in the kernel at `sched_process_exec` on
 * what the new image received (a violator is killed with SIGKILL before its first instruction,
 * so its parent sees it end by signal 9, exit status 137 in a shell).
 */
import type { ExecRule } from '@leash/policies/dist/ir';
import { addon, type NativeExecGuard } from './addon';

/** The kernel's bounds (src/exec.h); rules past them are refused, argv past them is denied. */
export const EXEC_LIMITS = {
  rules: 64,
  /** argv/args conditions per rule; a containsAll counts one per `values` values. */
  conditionsPerRule: 4,
  values: 8,
  /** Bytes of one `args like` piece between wildcards (and of an `args ==` value). */
  partBytes: 64,
  /** Entries of argv[1..] the kernel reads; more is a violation when argv rules apply. */
  args: 64,
  /** Bytes of the argv area (argv[0] included, with its NULs) the kernel reads. */
  argvBytes: 4096,
} as const;

/** One exec of a task in the session's cgroup, as judged at sched_process_exec. */
export interface ExecEvent {
  /** The new program's process id (leashd's PID namespace). */
  pid: number;
  /** The thread that called exec, which the path-level exec event of FileGuard names. */
  tid: number;
  decision: 'allow' | 'deny';
  /** argv as the new image received it, argv[0] first (cut at 1,024 bytes: `truncated`). */
  argv: string[];
  truncated: boolean;
  /** No path-level record named the program (a memfd, an unmarked mount): judged as unknown. */
  unknownProgram: boolean;
  /** argv exceeded the kernel's bounds while argv rules applied. */
  overflow: boolean;
  /** The canonical path of the program that ran (for a script, its interpreter), when the
   *  answerer judged it; absent for unknown programs and the loader. */
  program?: string;
  /** For a `#!` script handed to its interpreter: the script's canonical path. */
  script?: string;
  /** The dynamic loader itself was run (`ld.so PROGRAM`). */
  loader: boolean;
  comm: string;
}

export interface ExecGuardStats {
  /** Decisions the kernel's ring buffer had no room for. */
  lost: number;
  /** Events read but not delivered because JavaScript fell behind. */
  dropped: number;
}

/** Why an exec rule set cannot be enforced exactly, or undefined when it can. */
export function execRulesUnenforceable(rules: ExecRule[]): string | undefined {
  if (rules.length > EXEC_LIMITS.rules) {
    return `${rules.length} Exec rules exceed the kernel's ${EXEC_LIMITS.rules}`;
  }
  for (const rule of rules) {
    let conditions = 0;
    for (const m of rule.match) {
      if (m.on === 'program') continue;
      if (m.on === 'args') {
        const parts = m.match.kind === 'equals' ? [m.match.value] : m.match.parts;
        if (parts.length > EXEC_LIMITS.values) {
          return `policy ${rule.id}: an args pattern with ${parts.length - 1} wildcards exceeds the kernel's ${EXEC_LIMITS.values - 1}`;
        }
        const long = parts.find((p) => Buffer.byteLength(p) > EXEC_LIMITS.partBytes);
        if (long !== undefined) {
          return `policy ${rule.id}: the args text "${long}" is longer than the ${EXEC_LIMITS.partBytes} bytes the kernel compares between wildcards`;
        }
        conditions++;
        continue;
      }
      const splits = m.op !== 'containsAny' && m.negate !== true;
      if (!splits && m.values.length > EXEC_LIMITS.values) {
        return `policy ${rule.id}: ${m.negate === true ? 'a negated ' : ''}${m.op} of ${m.values.length} values exceeds the kernel's ${EXEC_LIMITS.values}`;
      }
      conditions += splits ? Math.max(1, Math.ceil(m.values.length / EXEC_LIMITS.values)) : 1;
    }
    if (conditions > EXEC_LIMITS.conditionsPerRule) {
      return `policy ${rule.id}: ${conditions} argv/args conditions in one rule exceed the kernel's ${EXEC_LIMITS.conditionsPerRule}`;
    }
  }
  return undefined;
}

/**
 * Judges every exec of the tasks in one cgroup v2 directory by exec rules: `sched_process_exec`
 * checks the argv the new image received and kills a violator before it runs. Program paths
 * are judged by the FileGuard given this guard (`FileGuard({ execGuard })`); without one, every
 * program is unknown to the kernel program and judged as such. A guard keeps Node's event loop
 * alive until `close()`.
 */
export class ExecGuard {
  /** @internal the addon's object, for FileGuard. */
  readonly native: NativeExecGuard;

  /**
   * `quietAllowed`: allowed execs are reported up to 50 ms late instead of waking the reader
   * for each (a fork+exec costs ~15% less); refusals are always reported at once. Right where
   * allowed execs are only counted, not where each one matters (shadow, record).
   */
  constructor(opts: {
    cgroupPath: string;
    rules: ExecRule[];
    onEvent: (e: ExecEvent) => void;
    quietAllowed?: boolean;
    /** Canonical paths of leashd's own programs (its launcher), run whatever the rules say. */
    trustedPrograms?: string[];
  }) {
    this.native = new (addon().ExecGuard)(
      opts.cgroupPath,
      opts.rules,
      opts.onEvent,
      opts.quietAllowed ?? false,
      opts.trustedPrograms ?? [],
    );
  }

  /** Swaps the rule set atomically (an exec is judged whole by the old or the new set);
   *  throws a RangeError naming the rule when it does not fit the kernel's bounds. */
  update(rules: ExecRule[], opts: { quietAllowed?: boolean } = {}): void {
    this.native.update(rules, opts.quietAllowed ?? false);
  }

  /**
   * Pins the program in bpffs at `path`: it keeps judging execs after this process dies (a
   * program no record names is unknown, so permits that name programs do not hold for it),
   * until the pin is removed. `close()` removes it.
   */
  pin(path: string): void {
    this.native.pin(path);
  }

  /** Detaches the program (and removes its pin); execs are no longer judged by argv. */
  close(): void {
    this.native.close();
  }

  stats(): ExecGuardStats {
    return this.native.stats();
  }
}
