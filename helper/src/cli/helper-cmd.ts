/** `leash helper start|stop|status`: leashd's life, seen from the CLI. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_STATE_DIR } from '../config';
import { LeashClient } from './client';

export interface StatusReply {
  healthy: boolean;
  version: string;
  backend: string;
  backendReason: string;
  sessions: number;
  pid: number;
  stateDir: string;
  socket: string;
  problems: string[];
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} needs root (leashd loads BPF programs); run it with sudo`);
  }
}

/** Starts leashd in the background unless one answers; resolves once its socket answers. */
export async function startHelper(opts: {
  socket: string;
  stateDir?: string;
  image?: string;
}): Promise<{ started: boolean; pid: number }> {
  const client = new LeashClient(opts.socket);
  try {
    if (await client.ready(500)) {
      const s = await client.call<StatusReply>('status', {});
      return { started: false, pid: s.pid };
    }
    requireRoot('starting leashd');
    const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const logFile = path.join(stateDir, 'leashd.log');
    const out = fs.openSync(logFile, 'a');
    const args = [path.join(__dirname, '..', 'daemon', 'main.js'), '--socket', opts.socket];
    if (opts.stateDir) args.push('--state-dir', opts.stateDir);
    if (opts.image) args.push('--image', opts.image);
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    let exited: number | null = null;
    child.on('exit', (code) => (exited = code ?? 1));
    child.unref();

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (exited !== null) break;
      if (await client.ready(250)) return { started: true, pid: child.pid ?? 0 };
    }
    if (exited === null && child.pid) process.kill(child.pid, 'SIGTERM');
    throw new Error(`leashd did not start:\n${lastLines(logFile, 8)}`);
  } finally {
    client.close();
  }
}

export async function stopHelper(socket: string): Promise<boolean> {
  const client = new LeashClient(socket);
  try {
    if (!(await client.ready(500))) return false;
    await client.call('shutdown', {});
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && fs.existsSync(socket)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  } finally {
    client.close();
  }
}

function lastLines(file: string, n: number): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-n)
      .map((l) => {
        try {
          const o = JSON.parse(l) as { msg?: string; error?: string };
          return `  ${o.msg ?? ''}${o.error ? `: ${o.error}` : ''}`;
        } catch {
          return `  ${l}`;
        }
      })
      .join('\n');
  } catch {
    return `  (no log at ${file})`;
  }
}
