/** Helpers shared by the kernel tests: root gating, child processes speaking JSON lines. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { TestContext } from 'node:test';

/** True when the test may touch the kernel; skips (or fails under LEASH_REQUIRE_KERNEL=1). */
export function requireKernel(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  const why = 'needs root for fanotify, BPF and cgroups';
  if (process.env['LEASH_REQUIRE_KERNEL'] === '1') {
    throw new Error(`LEASH_REQUIRE_KERNEL=1 but this test ${why}; run it as root`);
  }
  t.skip(why);
  return false;
}

/** A child process that answers one JSON line on stdout per JSON line sent on stdin. */
export class JsonChild {
  readonly process: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = '';

  constructor(command: string, args: string[]) {
    this.process = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    readline.createInterface({ input: this.process.stdout }).on('line', (line) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(line);
      else this.lines.push(line);
    });
  }

  /** The next line the child prints, parsed. */
  async next<T>(timeoutMs = 10_000): Promise<T> {
    const queued = this.lines.shift();
    const line =
      queued ??
      (await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting = undefined;
          reject(new Error(`child printed nothing in ${timeoutMs} ms; stderr: ${this.stderr}`));
        }, timeoutMs);
        this.waiting = (l) => {
          clearTimeout(timer);
          resolve(l);
        };
      }));
    return JSON.parse(line) as T;
  }

  async ask<T>(request: unknown, timeoutMs?: number): Promise<T> {
    this.process.stdin.write(JSON.stringify(request) + '\n');
    return this.next<T>(timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.stdin.end();
    this.process.kill('SIGTERM');
    await exited;
  }
}

/** Waits until `find` returns something, polling; fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  find: () => T | undefined,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Removes a test's cgroup directory once its last task has left (an exiting task holds it
 *  for a moment); a directory already gone is fine. */
export async function removeCgroup(cgroup: string): Promise<void> {
  await eventually('the test cgroup to empty', () => {
    try {
      fs.rmdirSync(cgroup);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? true : undefined;
    }
  });
}
