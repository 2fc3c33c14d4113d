/** Loads the leash_bpf addon once, with the shapes of what it exports. */
import * as path from 'node:path';
import type { ConnectRule, ExecRule, FileRule } from '@leash/policies/dist/ir';
import type { ExecEvent, ExecGuardStats } from './exec-guard';
import type { LsmEvent, LsmOptions, NativeLsmGuard } from './lsm-guard';
import type {
  Capability,
  ChangeEvent,
  ChangeGuardStats,
  ConnectGuardStats,
  FileEvent,
  FileGuardStats,
  NetEvent,
} from './index';

export interface NativeFileGuard {
  update(rules: FileRule[], caching: boolean, principals: [string, FileRule[]][]): void;
  addPrincipal(cgroup: string, rules: FileRule[], execGuard?: NativeExecGuard): void;
  groupFd(): number;
  close(): void;
  stats(): FileGuardStats;
}

export interface NativeChangeGuard {
  addListener(fd: number): void;
  update(rules: FileRule[]): void;
  close(): void;
  stats(): ChangeGuardStats;
}

export interface NativeExecGuard {
  update(rules: ExecRule[], quietAllowed: boolean): void;
  pin(path: string): void;
  close(): void;
  stats(): ExecGuardStats;
}

export interface NativeConnectGuard {
  update(rules: ConnectRule[]): void;
  delegate(cgroupPath: string): void;
  pin(dir: string): void;
  close(): void;
  stats(): ConnectGuardStats;
}

export interface Addon {
  probeLsm(): Capability;
  probeFanotify(): Capability;
  probeCgroupBpf(): Capability;
  trySocket(family: number, type: number, protocol: number): number;
  FileGuard: new (
    mountPoints: string[],
    rules: FileRule[],
    onEvent: (e: FileEvent) => void,
    caching: boolean,
    execGuard: NativeExecGuard | undefined,
    execOnly: boolean,
  ) => NativeFileGuard;
  ChangeGuard: new (rules: FileRule[], onEvent: (e: ChangeEvent) => void) => NativeChangeGuard;
  takeSeccompListener(pid: number, fd: number): number;
  ExecGuard: new (
    cgroupPath: string,
    rules: ExecRule[],
    onEvent: (e: ExecEvent) => void,
    quietAllowed: boolean,
    trusted: string[],
  ) => NativeExecGuard;
  ConnectGuard: new (
    cgroupPath: string,
    rules: ConnectRule[],
    onEvent: (e: NetEvent) => void,
  ) => NativeConnectGuard;
  LsmGuard: new (
    cgroupPath: string,
    files: FileRule[],
    exec: ExecRule[],
    onEvent: (e: LsmEvent) => void,
    opts: LsmOptions,
  ) => NativeLsmGuard;
}

export const addonPath = path.join(__dirname, '..', 'build', 'Release', 'leash_bpf.node');

/**
 * The static launcher (src/launcher/leash-launch.c) that starts a sandbox command under the
 * change filter: `leash-launch -- CMD…` prints `leash-launch ready <pid> <fd>` on stderr and
 * waits for one byte on stdin before it runs CMD.
 */
export const launcherPath = path.join(__dirname, '..', 'build', 'Release', 'leash-launch');

let loaded: Addon | undefined;

export function addon(): Addon {
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
