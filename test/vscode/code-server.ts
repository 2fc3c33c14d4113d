/**
 * A real VS Code for the extension's end-to-end suite: code-server from .cache/code-server
 * (scripts/install-code-server.sh), on loopback, with its own profile, the packaged extension
 * installed from its .vsix, and a headless Chromium page on it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REQUIRE_KERNEL, sandboxSkip } from '../support/env';
import { CHROMIUM, freePort } from '../ui/browser';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const CODE_SERVER = path.join(
  REPO,
  '.cache',
  'code-server',
  'node_modules',
  'code-server',
  'out',
  'node',
  'entry.js',
);
export const VSIX = path.join(REPO, 'extension', 'dist', 'leash.vsix');
export const ARTIFACTS = path.join(REPO, 'test', 'vscode', 'artifacts');

/** The suite's `skip`: the sandbox, Chromium, code-server and the packaged extension. */
export function vscodeSkip(): string | false {
  const sandbox = sandboxSkip();
  if (sandbox) return sandbox;
  const missing = [
    [CHROMIUM, 'apt-get install chromium'],
    [CODE_SERVER, 'bash scripts/install-code-server.sh'],
    [VSIX, 'npm run build'],
  ].find(([file]) => !fs.existsSync(file as string));
  if (!missing) return false;
  const why = `${missing[0]} is missing (${missing[1]})`;
  if (REQUIRE_KERNEL) throw new Error(`LEASH_REQUIRE_KERNEL=1 but ${why}`);
  return `needs code-server and the packaged extension: ${why}`;
}

export interface CodeServerOptions {
  /** Environment of the extension host (code-server passes its own on). */
  env: Record<string, string>;
  /** User settings. */
  settings: Record<string, unknown>;
}

export class CodeServer {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-code-server-'));
  readonly userData = path.join(this.dir, 'user-data');
  readonly extensions = path.join(this.dir, 'extensions');
  port = 0;
  log = '';
  private process?: ChildProcess;

  constructor(private readonly opts: CodeServerOptions) {}

  private args(): string[] {
    const config = path.join(this.dir, 'config.yaml');
    fs.writeFileSync(config, 'auth: none\n');
    return [
      CODE_SERVER,
      '--config',
      config,
      '--user-data-dir',
      this.userData,
      '--extensions-dir',
      this.extensions,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
    ];
  }

  /** This process's environment, less node:test's marker for its own children, plus `env`. */
  private env(): NodeJS.ProcessEnv {
    const env = { ...process.env, ...this.opts.env };
    delete env.NODE_TEST_CONTEXT;
    return env;
  }

  /** Installs a .vsix the way a user would: `code-server --install-extension`. */
  installExtension(vsix: string): void {
    const r = spawnSync(process.execPath, [...this.args(), '--install-extension', vsix], {
      env: this.env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) {
      throw new Error(`installing ${vsix} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  async start(): Promise<void> {
    const settings = path.join(this.userData, 'User', 'settings.json');
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    fs.writeFileSync(settings, JSON.stringify(this.opts.settings, null, 2));
    this.port = await freePort();
    this.process = spawn(
      process.execPath,
      [...this.args(), '--bind-addr', `127.0.0.1:${this.port}`],
      {
        env: this.env(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    this.process.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.process.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) break;
      if (this.log.includes('HTTP server listening')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`code-server did not start:\n${this.log}`);
  }

  /** The address of the workbench with `folder` open, and an optional `payload` for VS Code. */
  url(folder: string, payload?: [string, string][]): string {
    const q = new URLSearchParams({ folder });
    if (payload) q.set('payload', JSON.stringify(payload));
    return `http://127.0.0.1:${this.port}/?${q.toString()}`;
  }

  /** A path on this machine as VS Code's remote URI (for the payload). */
  remoteUri(file: string): string {
    return `vscode-remote://127.0.0.1:${this.port}${file}`;
  }

  /** Stops code-server and everything it started (its extension hosts and their children). */
  async stop(): Promise<void> {
    const p = this.process;
    if (p?.pid && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      process.kill(-p.pid, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-(p.pid as number), 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
