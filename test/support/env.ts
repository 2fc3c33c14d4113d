/** What a privileged suite needs, and whether a missing piece skips it or fails it. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/** With LEASH_REQUIRE_KERNEL=1 (set by .ci/run) a missing capability fails instead of skipping. */
export const REQUIRE_KERNEL = process.env.LEASH_REQUIRE_KERNEL === '1';

/** Why the Docker + kernel suites cannot run here, or undefined when they can. */
export function missingForSandbox(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return 'no Docker engine answers';
  }
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF';
  return undefined;
}

/** The `skip` option for a suite: a reason to skip, or false; throws when skipping is not allowed. */
export function sandboxSkip(): string | false {
  const missing = missingForSandbox();
  if (!missing) return false;
  if (REQUIRE_KERNEL) throw new Error(`LEASH_REQUIRE_KERNEL=1 but ${missing}`);
  return `needs root, Docker and BPF: ${missing}`;
}
