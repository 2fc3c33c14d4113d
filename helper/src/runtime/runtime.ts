/**
 * What a session needs of a runtime, whichever it is: a sandbox with its own namespaces and
 * cgroup, commands started in it, and its end. `docker` runs a container per session,
 * `process` a bare process tree (docs/runtimes.md).
 */
import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/** Environment variables a sandbox may inherit from the caller; nothing else passes through. */
export const ENV_ALLOWLIST = ['TERM', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'COLORTERM', 'TZ'];

/** The home directory of the sandbox's user (root) inside the sandbox. */
export const SANDBOX_HOME = '/root';

export const RUNTIMES = ['docker', 'process'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export function parseRuntime(name: string): RuntimeName {
  const found = RUNTIMES.find((r) => r === (name || 'docker'));
  if (!found) {
    throw new Error(`runtime ${name} is not known; use one of: ${RUNTIMES.join(', ')}`);
  }
  return found;
}

/** A running sandbox, as the guards see it. */
export interface Sandbox {
  id: string;
  /** Host pid of the sandbox's init (its PID namespace is the sandbox's). */
  pid: number;
  /** The sandbox's IPv4 address on the bridge to leashd; empty when it has none. */
  address: string;
  /** The sandbox's cgroup v2 directory. */
  cgroupPath: string;
  /** Mount points inside the sandbox that file enforcement watches. */
  mountPoints: string[];
  /** Emits `close` when the sandbox's init is gone (it ends when leashd's hold on it ends). */
  lifeline: EventEmitter;
}

/** A command running in a sandbox. */
export interface SandboxCommand {
  /** The command's input; `end()` closes it. */
  stdin: Writable;
  /** Its output; with a terminal everything arrives on `stdout`. Both end when it ends. */
  stdout: Readable;
  stderr: Readable;
  /** Its exit status once its output has ended (128 + n when signal n ended it). */
  exitCode(): Promise<number>;
  resize(cols: number, rows: number): Promise<void>;
}

export interface CommandOptions {
  tty: boolean;
  env: Record<string, string>;
  workdir: string;
  user?: string;
}
