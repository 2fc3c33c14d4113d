/** What suites of the process runtime need: its prerequisites, and the user it runs as. */
import { launcherPath } from '@leash/bpf';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { REQUIRE_KERNEL } from './env';

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
