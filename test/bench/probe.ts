/** The probe (probe.c): built static on the host, run as a line server inside a container. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const SOURCES = path.resolve(__dirname, '..', '..', 'bench');

/** Compiles test/bench/`name`.c static into `dir/name` and returns its path. */
function buildStatic(dir: string, name: string, libs: string[], packages: string): string {
  const source = path.join(SOURCES, `${name}.c`);
  const out = path.join(dir, name);
  try {
    execFileSync('gcc', ['-static', '-O2', '-o', out, source, ...libs], { stdio: 'pipe' });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`cannot build ${source} with gcc -static (apt ${packages}): ${stderr}`);
  }
  return out;
}

/** Compiles probe.c into `dir/probe` and returns its path. */
export function buildProbe(dir: string): string {
  return buildStatic(dir, 'probe', [], 'gcc, libc6-dev');
}

/** Compiles https-client.c into `dir/https-client` and returns its path. */
export function buildHttpsClient(dir: string): string {
  return buildStatic(dir, 'https-client', ['-lssl', '-lcrypto'], 'gcc, libc6-dev, libssl-dev');
}

export interface Timing {
  meanNs: number;
  p99Ns: number;
}

/** A running probe: one command at a time, each answered by one line. */
export class ProbeServer {
  private buffer = '';
  private lines: string[] = [];
  private waiting?: () => void;
  private stderr = '';
  private exited?: string;

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.waiting?.();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', (code, signal) => {
      this.exited = `${this.label} exited (${code ?? signal}):\n${this.stderr}`;
      this.waiting?.();
    });
  }

  static spawn(
    label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ): ProbeServer {
    return new ProbeServer(label, spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env }));
  }

  private nextLine(what: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`${this.label}: no answer to ${what} in ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
      const check = (): void => {
        const line = this.lines.shift();
        if (line === undefined && this.exited === undefined) return;
        clearTimeout(timer);
        this.waiting = undefined;
        if (line === undefined) reject(new Error(this.exited));
        else resolve(line);
      };
      this.waiting = check;
      check();
    });
  }

  /** Waits for the probe's `ready`: only then is its stdin connected end to end (leashd drops
   *  input that arrives before the session's command has started). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const line = await this.nextLine('start-up', timeoutMs);
    if (line !== 'ready') throw new Error(`${this.label}: expected "ready", got ${line}`);
  }

  /** Sends one command and waits (at most `timeoutMs`) for its answer. */
  async run(command: string, timeoutMs = 60_000): Promise<Timing> {
    this.child.stdin?.write(command + '\n');
    const line = await this.nextLine(`"${command}"`, timeoutMs);
    const m = /^ok (\d+) (\d+)$/.exec(line);
    if (!m) throw new Error(`${this.label}: "${command}" failed: ${line}\n${this.stderr}`);
    return { meanNs: Number(m[1]), p99Ns: Number(m[2]) };
  }

  /** Asks the probe to quit and waits for its process (killed after `timeoutMs`). */
  async close(timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end('quit\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
