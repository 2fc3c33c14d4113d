/** Runs a command inside the LSM test VM (test/vm/run.sh) from a test on the host. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REQUIRE_KERNEL } from '../support/env';

// Compiled to test/dist/vm/.
const TREE = path.resolve(__dirname, '..', '..', '..');
const RUN = path.join(TREE, 'test', 'vm', 'run.sh');

export interface VmResult {
  /** The guest command's exit code (2 when the VM itself failed: see `output`). */
  status: number;
  /** The guest's console and the script's own messages. */
  output: string;
  /** Wall time from starting QEMU to its exit, in milliseconds. */
  ms: number;
}

/** Why the VM cannot run here, or undefined when it can. */
export function missingForVm(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync('/usr/bin/qemu-system-x86_64')) {
    return 'qemu-system-x86_64 is missing (scripts/setup.sh installs it)';
  }
  return undefined;
}

/** The `skip` option for a VM suite; throws under LEASH_REQUIRE_KERNEL=1 instead of skipping. */
export function vmSkip(): string | false {
  const missing = missingForVm();
  if (!missing) return false;
  if (REQUIRE_KERNEL) throw new Error(`LEASH_REQUIRE_KERNEL=1 but the VM cannot run: ${missing}`);
  return `needs root to boot the VM: ${missing}`;
}

/** Boots the VM, runs `command` (argv) inside from the working tree's root, and waits. */
export function runInVm(command: string[], opts: { lsm?: string } = {}): Promise<VmResult> {
  const args = [RUN, ...(opts.lsm === undefined ? [] : ['--lsm', opts.lsm]), '--', ...command];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { cwd: TREE, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status: status ?? 2, output, ms: Date.now() - started }),
    );
  });
}
