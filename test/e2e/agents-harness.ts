/**
 * What the agent suites share: a leashd whose proxy reaches the agents' real API host names on
 * loopback (test settings, so no real name is resolved), a stand-in of each model API behind
 * them over HTTPS with a test CA, an echo host that records what reaches it, and a way to run
 * `leash run AGENT` without blocking the stand-ins, which live in this process.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { REQUIRE_KERNEL, sandboxSkip } from '../support/env';
import { CLI, sessionOf, TestDaemon, type CliResult } from '../support/leashd';
import { loopbackAddress, makeCertificates, Upstream } from '../proxy/upstream';

const REPO = path.resolve(__dirname, '..', '..', '..');
const STUBS = path.join(REPO, 'test', 'fixtures', 'model-stub');
const BUILD = path.join(REPO, 'scripts', 'build-agent-image.sh');

/** The API hosts the stand-ins answer for, by the wire format they speak. */
export const API_HOSTS = {
  anthropic: 'api.anthropic.com',
  openai: 'api.openai.com',
  gemini: 'generativelanguage.googleapis.com',
} as const;
/** A host that is not any agent's: it shows what an agent's request elsewhere carries. */
export const ECHO_HOST = 'echo.test';

/** One request as a stand-in logged it (test/fixtures/model-stub/server.js). */
export interface StubRequest {
  api: string;
  method: string;
  path: string;
  keys: {
    'x-api-key': string | null;
    authorization: string | null;
    'x-goog-api-key': string | null;
  };
  offered: string[];
  tool?: string;
  toolResult: string | null;
}

interface StubModule {
  startStub(o: {
    api: string;
    address: string;
    port: number;
    tls: { key: string; cert: string };
    command: () => string;
    log: (entry: StubRequest) => void;
  }): Promise<net.Server>;
}

/** Skips without the agents image, except in CI, where the image is built here if missing. */
export function agentSkip(): string | false {
  const sandbox = sandboxSkip();
  if (sandbox) return sandbox;
  const tag = execFileSync('bash', [BUILD, '--print-tag'], { encoding: 'utf8' }).trim();
  const found = spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0;
  if (found) return false;
  if (!REQUIRE_KERNEL) {
    return `the agents image ${tag} is not built; run \`bash scripts/build-agent-image.sh\``;
  }
  execFileSync('bash', [BUILD], { stdio: ['ignore', process.stderr, process.stderr] });
  return false;
}

export class AgentBench {
  readonly certs = makeCertificates([...Object.values(API_HOSTS), ECHO_HOST]);
  readonly echo = new Upstream();
  /** What the stand-ins were asked, in order. */
  readonly requests: StubRequest[] = [];
  readonly daemon: TestDaemon;
  private readonly addresses = new Map<string, string>();
  private readonly servers: net.Server[] = [];
  /** The command the stand-ins have the agent run; set before each session. */
  command = 'true';
  /** Workspaces of the sessions run, whose agent configuration volumes are removed at the end. */
  private readonly workspaces = new Set<string>();

  /** `flags`: more flags for leashd. */
  constructor(flags: string[] = []) {
    for (const host of [...Object.values(API_HOSTS), ECHO_HOST]) {
      this.addresses.set(host, loopbackAddress());
    }
    const settings = path.join(this.certs.dir, 'settings.json');
    fs.writeFileSync(
      settings,
      JSON.stringify({
        hosts: Object.fromEntries(this.addresses),
        upstreamCaFile: this.certs.caFile,
      }),
    );
    this.daemon = new TestDaemon(['--proxy-test-settings', settings, ...flags]);
  }

  async start(): Promise<void> {
    const stub = require(path.join(STUBS, 'server.js')) as StubModule;
    const tls = { key: this.certs.key, cert: this.certs.cert };
    for (const [api, host] of Object.entries(API_HOSTS)) {
      const server = await stub.startStub({
        api,
        address: this.address(host),
        port: 443,
        tls,
        // Read at each request, so one set of stand-ins serves every test.
        command: () => this.command,
        log: (entry) => this.requests.push(entry),
      });
      this.servers.push(server);
    }
    await this.echo.listen(this.address(ECHO_HOST), 443, tls);
    await this.daemon.start();
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    for (const s of this.servers) s.close();
    this.echo.close();
    fs.rmSync(this.certs.dir, { recursive: true, force: true });
    for (const ws of this.workspaces) {
      const filter = `label=dev.leash.workspace=${ws}`;
      const volumes = spawnSync('docker', ['volume', 'ls', '-q', '--filter', filter], {
        encoding: 'utf8',
      }).stdout;
      for (const v of volumes.split('\n').filter(Boolean)) {
        spawnSync('docker', ['volume', 'rm', '-f', v], { stdio: 'ignore' });
      }
    }
  }

  address(host: string): string {
    const a = this.addresses.get(host);
    if (!a) throw new Error(`no loopback address for ${host}`);
    return a;
  }

  /** `leash run` with `args` and the CLI's environment `env` (added to this process's),
   *  without blocking this process; resolves with its result, its session, how long the
   *  session took to start (until `leash run` named it) and how long the whole run took. */
  run(
    args: string[],
    env: Record<string, string> = {},
    timeoutMs = 240_000,
  ): Promise<CliResult & { session: string; startMs: number; totalMs: number }> {
    const started = Date.now();
    let startMs = -1;
    const ws = args[args.indexOf('--workspace') + 1];
    if (ws) this.workspaces.add(ws);
    const child = spawn(process.execPath, [CLI, '--socket', this.daemon.socket, 'run', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (startMs < 0 && stderr.includes('{"session"')) startMs = Date.now() - started;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    return new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        const totalMs = Date.now() - started;
        resolve({
          status: code ?? -1,
          stdout,
          stderr,
          session: sessionOf(stderr),
          startMs,
          totalMs,
        });
      }),
    );
  }
}

/** The policy of the agent suites: the default policy, plus the echo host for any agent. */
export function policyWithEcho(): string {
  const base = fs.readFileSync(path.join(REPO, 'policies', 'default.cedar'), 'utf8');
  return (
    `${base}\n@id("echo")\npermit (principal, action == Leash::Action::"HttpRequest", ` +
    `resource == Leash::Host::"${ECHO_HOST}");\n`
  );
}

/** Every file below `dir` whose content holds `needle`. */
export function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** The host directory of a Docker volume. */
export function volumeDir(name: string): string {
  return execFileSync('docker', ['volume', 'inspect', '-f', '{{.Mountpoint}}', name], {
    encoding: 'utf8',
  }).trim();
}
