/** What suites of the process runtime need: its prerequisites, and the user it runs as. */
import { launcherPath } from '@leash/bpf';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REQUIRE_KERNEL, sandboxSkip } from './env';

/** An unprivileged uid that owns the test workspaces (the process runtime runs as the owner). */
export const SANDBOX_UID = 64242;

/** Why process sandboxes cannot run here, or undefined when they can (no Docker needed). */
export function missingForProcessSandbox(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF';
  for (const tool of ['unshare', 'nsenter', 'pivot_root', 'script', 'ip']) {
    const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    if (found.status !== 0) return `${tool} is not installed`;
  }
  if (!fs.existsSync(launcherPath)) return `leash-launch is not built (${launcherPath})`;
  return undefined;
}

/** The `skip` option for a process-runtime suite; throws under LEASH_REQUIRE_KERNEL=1. */
export function processSandboxSkip(): string | false {
  const missing = missingForProcessSandbox();
  if (!missing) return false;
  if (REQUIRE_KERNEL) throw new Error(`LEASH_REQUIRE_KERNEL=1 but ${missing}`);
  return `needs root, BPF and util-linux: ${missing}`;
}

/**
 * The runtime a suite that can run under either one uses: `LEASH_TEST_RUNTIME=process` picks
 * the process runtime (what the LSM test VM runs), anything else the default, docker.
 */
export const TEST_RUNTIME: 'docker' | 'process' =
  process.env.LEASH_TEST_RUNTIME === 'process' ? 'process' : 'docker';

/** `leash run` flags for TEST_RUNTIME. */
export const RUNTIME_FLAGS = ['--runtime', TEST_RUNTIME];

/** The sandbox user's home under TEST_RUNTIME (what `@home` stands for). */
export const RUNTIME_HOME = TEST_RUNTIME === 'process' ? '/home/leash' : '/root';

/** The `skip` option for a suite under TEST_RUNTIME. */
export function runtimeSkip(): string | false {
  return TEST_RUNTIME === 'process' ? processSandboxSkip() : sandboxSkip();
}

/** Makes a workspace fit TEST_RUNTIME: the process runtime needs it owned by its user. */
export function forRuntime(workspace: string): string {
  if (TEST_RUNTIME === 'process') chownTree(workspace, SANDBOX_UID);
  return workspace;
}

/** chown -R to uid:uid. */
export function chownTree(dir: string, uid: number): void {
  fs.chownSync(dir, uid, uid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid);
    else fs.lchownSync(p, uid, uid);
  }
}
