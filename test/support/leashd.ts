/** Starts a real leashd of its own (socket and state in a temp dir) and runs the real CLI. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(REPO, 'helper', 'bin', 'leash');
export const DAEMON = path.join(REPO, 'helper', 'dist', 'daemon', 'main.js');

/**
 * How long leashd may take to answer `helper status`, in seconds: 30 by default;
 * `LEASH_TEST_DAEMON_START_S` raises it where Node itself starts slowly (the emulated test VM
 * needs minutes to load leashd's modules).
 */
export function daemonStartSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LEASH_TEST_DAEMON_START_S;
  if (raw === undefined || raw === '') return 30;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`LEASH_TEST_DAEMON_START_S must be a number of seconds above 0, not "${raw}"`);
  }
  return seconds;
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export class TestDaemon {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-test-'));
  readonly socket = path.join(this.dir, 'leashd.sock');
  readonly stateDir = path.join(this.dir, 'state');
  process?: ChildProcess;
  log = '';

  /** `flags`: more flags for leashd (e.g. `--ui-port`). */
  constructor(private readonly flags: string[] = []) {}

  async start(): Promise<void> {
    this.process = spawn(
      process.execPath,
      [DAEMON, '--socket', this.socket, '--state-dir', this.stateDir, ...this.flags],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.process.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    const seconds = daemonStartSeconds();
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null || this.process.signalCode !== null) break;
      if (fs.existsSync(this.socket) && this.cli(['helper', 'status']).status === 0) return;
      await sleep(200);
    }
    throw new Error(
      `leashd did not answer within ${seconds} s (LEASH_TEST_DAEMON_START_S):\n${this.log}`,
    );
  }

  cli(
    args: string[],
    opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
  ): CliResult {
    const r = spawnSync(process.execPath, [CLI, '--socket', this.socket, ...args], {
      input: opts.input ?? '',
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 120_000,
      env: { ...process.env, ...opts.env },
    });
    let stderr = r.stderr;
    // Say whether leashd is still alive, and what it last logged, when the CLI found none.
    if (/leashd is not running/.test(stderr) && this.process?.pid !== undefined) {
      stderr += `\n[test: leashd pid ${this.process.pid} ${alive(this.process.pid) ? 'is alive' : 'is gone'}; its log ends:]\n${this.log.slice(-4000)}`;
    }
    return { status: r.status ?? -1, stdout: r.stdout, stderr };
  }

  /** Runs the CLI without waiting (for sessions that must stay up while the test acts). */
  cliAsync(args: string[]): ChildProcess & { done: Promise<CliResult>; stdoutSoFar: () => string } {
    const child = spawn(process.execPath, [CLI, '--socket', this.socket, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<CliResult>((resolve) =>
      child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr })),
    );
    return Object.assign(child, { done, stdoutSoFar: () => stdout });
  }

  /** Runs a bash script in a new session on `workspace` under the default policy; returns
   *  the CLI's result, the session's name and its audit events. */
  script(
    workspace: string,
    script: string,
  ): CliResult & { session: string; events: Record<string, unknown>[] } {
    const r = this.cli([
      'run',
      '--json',
      '--workspace',
      workspace,
      'shell',
      '--',
      'bash',
      '-c',
      script,
    ]);
    const session = sessionOf(r.stderr);
    return { ...r, session, events: this.events(session) };
  }

  /** Waits until a session of that name is listed (it may still be starting). */
  async waitForSession(name: string): Promise<void> {
    await waitFor(`session ${name}`, () =>
      this.cli(['sessions', '--json']).stdout.includes(`"${name}"`),
    );
  }

  events(session: string): Record<string, unknown>[] {
    const r = this.cli(['events', '--session', session, '--json']);
    if (r.status !== 0) throw new Error(`leash events failed: ${r.stderr}`);
    return r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      // leashd stops its sessions first; past a bound the test ends it regardless.
      const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh workspace directory (not under /tmp itself, which leashd refuses as a workspace). */
export function makeWorkspace(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-ws-'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 100 ms; throws naming `what` when it is still false after `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The session name from `leash run --json`'s stderr line. */
export function sessionOf(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('{"session"'));
  if (!line) throw new Error(`no session line in:\n${stderr}`);
  return (JSON.parse(line) as { session: string }).session;
}

export function dockerContainers(label: string): string[] {
  const r = spawnSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' });
  return r.stdout.trim().split('\n').filter(Boolean);
}

/** Whether any container with this label is still running. */
export function sandboxRunning(label: string): boolean {
  const ids = dockerContainers(label);
  if (ids.length === 0) return false;
  const r = spawnSync('docker', ['inspect', '-f', '{{.State.Running}}', ...ids], {
    encoding: 'utf8',
  });
  return r.stdout.includes('true');
}
