/** leashd: the privileged helper. Owns sessions, enforcement and the audit log. */
import * as grpc from '@grpc/grpc-js';
import {
  adoptPinRoot,
  probeKernel,
  releasePinRoot,
  selectBackend,
  type BackendSetting,
  type KernelProbe,
} from '@leash/bpf';
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { OtlpExport } from '../audit/otlp';
import { AuditStore } from '../audit/store';
import { AuditWriter } from '../audit/writer';
import { loadSettings, SETTINGS_FILE, type DaemonSettings } from '../config';
import { loadService } from '../grpc';
import { logger } from '../log';
import { loadGovernedServers, setGovernedServers } from '../mcp/servers';
import { bridgeGateway, startEgress } from '../proxy/egress';
import { DockerRuntime } from '../runtime/docker';
import { ProcessRuntime } from '../runtime/process';
import { removeEmptySandboxCgroups } from '../runtime/process-cgroup';
import { SessionManager } from '../session/manager';
import { newToken } from '../ui/access';
import { ControlUi } from '../ui/server';
import { buildService, type DaemonState } from './server';

const log = logger('leashd');

function backendSetting(value: string | undefined): BackendSetting {
  const setting = value ?? 'auto';
  if (setting === 'auto' || setting === 'lsm' || setting === 'portable') return setting;
  throw new Error(`--backend ${setting}: expected auto, lsm or portable`);
}

async function main(): Promise<void> {
  const program = new Command('leashd')
    .option('--socket <path>', 'unix socket to serve on')
    .option('--state-dir <dir>', 'audit database and other state')
    .option('--image <image>', 'sandbox image')
    .option('--group <group>', 'group allowed to use the socket')
    .option('--docker-socket <path>', "the Docker engine's socket")
    .option('--retention-days <days>', 'prune audit events older than this (0: never)')
    .option('--max-events <n>', 'keep at most this many audit events (0: no bound)')
    .option('--ui-port <port>', 'loopback port of the Control UI (0: off)')
    .option('--proxy-test-settings <file>', 'tests only: JSON naming local upstreams and their CA')
    .option('--backend <backend>', 'kernel enforcement: auto, lsm or portable (default auto)')
    .option('--otlp-endpoint <url>', 'also send audit events to this OTLP/HTTP logs endpoint')
    .option(
      '--mcp-servers <file>',
      'governed stdio MCP servers (JSON; default: mcpServers in settings)',
    )
    .parse();
  const settings = loadSettings(program.opts<Partial<DaemonSettings>>());
  setGovernedServers(
    loadGovernedServers(program.opts<{ mcpServers?: string }>().mcpServers, SETTINGS_FILE),
    path.join(settings.stateDir, 'mcp-servers.json'),
  );

  if (process.getuid?.() !== 0) {
    throw new Error('leashd must run as root (it loads BPF programs and answers fanotify)');
  }
  const probe = probeKernel();
  const chosen = selectBackend(probe, backendSetting(program.opts<{ backend?: string }>().backend));
  if (chosen.backend === 'none') {
    throw new Error(`this kernel cannot enforce Leash policies: ${chosen.reason}`);
  }

  const runtime = new DockerRuntime(settings.socket, settings.dockerSocket);
  // Without an engine, leashd still serves process sessions (docs/runtimes.md).
  const dockerProblem = await runtime.ping().then(
    () => undefined,
    (err: Error) => err.message,
  );
  if (dockerProblem) log.warn('only the process runtime is available', { why: dockerProblem });
  // Sessions of an earlier leashd that died: their enforcement is gone, so they end now.
  for (const c of dockerProblem ? [] : await runtime.leftovers()) {
    log.warn('removing a session container left by an earlier leashd', c);
    await runtime.remove(c.id);
  }
  for (const dir of removeEmptySandboxCgroups()) {
    log.info('removed the cgroup of a process sandbox an earlier leashd left', { dir });
  }
  // Exec programs an earlier leashd pinned for its sessions, all gone now: detached.
  for (const pin of adoptPinRoot(settings.socket)) {
    log.info('removed the pinned programs of a session an earlier leashd left', { pin });
  }

  fs.mkdirSync(settings.stateDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(settings.stateDir, 0o700);
  // The proxy listens on Docker's bridge; process sandboxes have loopback only.
  const egress = dockerProblem
    ? undefined
    : await startEgress({
        stateDir: settings.stateDir,
        gateway: await bridgeGateway(runtime.docker),
        testSettingsFile: program.opts<{ proxyTestSettings?: string }>().proxyTestSettings,
        log: log.child({ component: 'proxy' }),
      });
  const store = new AuditStore(path.join(settings.stateDir, 'audit.db'));
  const audit = new AuditWriter(store, log.child({ component: 'audit' }));
  const retention = { maxAgeDays: settings.retentionDays, maxEvents: settings.maxEvents };
  for (const [name, value] of Object.entries(retention)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`setting ${name} must be a whole number >= 0, not ${value}`);
    }
  }
  const prune = (): void => {
    const removed = store.prune(retention);
    if (removed > 0) log.info('pruned old audit events', { removed });
  };
  prune();
  setInterval(prune, 3_600_000).unref();
  const otlp = settings.otlpEndpoint
    ? new OtlpExport(
        store,
        { endpoint: settings.otlpEndpoint },
        log.child({ component: 'otlp' }),
        os.hostname(),
      )
    : undefined;
  const leashdPaths = [
    settings.stateDir,
    path.dirname(settings.socket),
    path.dirname(SETTINGS_FILE),
  ];
  const sessions = new SessionManager(
    runtime,
    new ProcessRuntime(leashdPaths),
    dockerProblem,
    audit,
    log,
    settings.image,
    leashdPaths,
    chosen.backend,
  );

  const state: DaemonState = {
    backend: chosen.backend,
    backendReason: chosen.reason,
    socket: settings.socket,
    stateDir: settings.stateDir,
    problems: [],
    ui: { port: 0, token: '', problem: 'the Control UI is off (uiPort is 0)' },
  };
  let ui: ControlUi | undefined;

  const server = new grpc.Server();
  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { why });
    void sessions
      .stopAll(`leashd is stopping (${why})`)
      .then(() => otlp?.close())
      .then(() => releasePinRoot())
      .catch((err: Error) => log.warn('shutdown step failed', { error: err.message }))
      .finally(() => {
        ui?.close();
        egress?.close();
        audit.close();
        store.close();
        fs.rmSync(settings.socket, { force: true });
        // Let calls in flight (the Shutdown call itself) finish, but not for long.
        setTimeout(() => process.exit(0), 2000).unref();
        server.tryShutdown(() => process.exit(0));
      });
  };
  server.addService(
    loadService().service,
    buildService({ sessions, store, state, log, shutdown: () => shutdown('requested') }),
  );

  await listen(server, settings);
  ui = await startUi(settings, sessions, store, state);
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception', { error: err.stack ?? err.message });
    shutdown('uncaught exception');
  });
  log.info('ready', { socket: settings.socket, backend: chosen.backend, reason: chosen.reason });
}

/** Serves the Control UI; a port already taken leaves leashd running without it. */
async function startUi(
  settings: DaemonSettings,
  sessions: SessionManager,
  store: AuditStore,
  state: DaemonState,
): Promise<ControlUi | undefined> {
  if (!Number.isInteger(settings.uiPort) || settings.uiPort < 0 || settings.uiPort > 65535) {
    throw new Error(`setting uiPort must be a port number (0: off), not ${settings.uiPort}`);
  }
  if (settings.uiPort === 0) return undefined;
  const token = newToken(settings.stateDir);
  const ui = new ControlUi({ sessions, store, log: log.child({ component: 'ui' }), token });
  try {
    const port = await ui.listen(settings.uiPort);
    state.ui = { port, token, problem: '' };
    log.info('Control UI ready', { url: `http://127.0.0.1:${port}/` });
    return ui;
  } catch (err) {
    state.ui.problem =
      `the Control UI could not listen on 127.0.0.1:${settings.uiPort}: ` +
      `${(err as Error).message}; set another uiPort`;
    log.error(state.ui.problem);
    return undefined;
  }
}

/** Binds the socket (refusing if another leashd answers there), mode 0660, group `leash`. */
async function listen(server: grpc.Server, settings: DaemonSettings): Promise<void> {
  fs.mkdirSync(path.dirname(settings.socket), { recursive: true, mode: 0o750 });
  if (fs.existsSync(settings.socket)) {
    if (await answers(settings.socket)) {
      throw new Error(`another leashd already serves ${settings.socket}`);
    }
    fs.rmSync(settings.socket);
  }
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${settings.socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  fs.chmodSync(settings.socket, 0o660);
  const gid = groupId(settings.group);
  if (gid !== undefined) fs.chownSync(settings.socket, 0, gid);
  else log.warn(`group ${settings.group} does not exist; only root can use the socket`);
}

function answers(socket: string): Promise<boolean> {
  const Client = loadService();
  const client = new Client(`unix://${socket}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.waitForReady(Date.now() + 1000, (err) => {
      client.close();
      resolve(!err);
    });
  });
}

function groupId(name: string): number | undefined {
  const line = fs
    .readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  return line ? Number(line.split(':')[2]) : undefined;
}

main().catch((err: Error) => {
  process.stderr.write(`leashd: ${err.message}\n`);
  process.exit(1);
});
