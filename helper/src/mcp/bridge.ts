/**
 * The stdio MCP bridge of one session. leashd listens on a per-session unix socket that the
 * sandbox sees in the workspace's read-only `.leash/run/`; the socket offers nothing but MCP
 * relaying. Each connection (the shim, run by the agent as its MCP server) names a governed
 * server; leashd runs that server in a sandbox of its own beside the agent's (same image, same
 * workspace, same hardening and enforcement, principal `mcp:<server>` with its own rules),
 * under leash-launch like every command, and relays the JSON-RPC stream through the
 * session's gate. The agent shares no process namespace with the server and never holds its
 * stdio, so it cannot talk to it around the check, and the server's name comes from the
 * host's declaration, never from the sandbox.
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { agentProfile } from '../agents';
import { launchSupervised } from '../daemon/launch';
import type { Logger } from '../log';
import type { Mode } from '../session/modes';
import type { DockerRuntime } from '../runtime/docker';
import { LineReader } from './lines';
import { prepareRunDir, shimCommand, socketPathFor } from './run-dir';
import type { GovernedServer } from './servers';
import type { SessionMcp } from './session-mcp';

/** A governed server's sandbox: a session of principal `mcp:<server>` (see session.ts). */
export interface PrincipalSandbox {
  container?: { id: string };
  start(): Promise<void>;
  superviseLaunch(sandboxPid: number, fd: number): void;
  applyPolicy(text: string, origin: string): unknown;
  setMode(mode: Mode): void;
  stop(reason: string): Promise<void>;
  onStop(listener: () => void): void;
}

export interface BridgeOptions {
  session: string;
  workspace: string;
  servers: Map<string, GovernedServer>;
  runtime: DockerRuntime;
  mcp: SessionMcp;
  /** The sandbox's user when it is not root (a devcontainer's remoteUser): the socket is its. */
  owner?: { uid: number; gid: number };
  /** A new, not yet started sandbox for `principal`, under the session's current policy and
   *  mode, with the server's environment added to the session's. */
  principalSandbox(
    principal: string,
    command: string[],
    env: Record<string, string>,
  ): PrincipalSandbox;
  log: Logger;
}

/** Longest unix socket path Linux accepts (sun_path less its terminating NUL). */
const MAX_SOCKET_PATH = 107;
const HANDSHAKE_MS = 10_000;

export class McpBridge {
  private readonly server: net.Server;
  private readonly conversations = new Set<net.Socket>();
  /** Each governed server's sandbox, started at its first connection and kept for the next. */
  private readonly sandboxes = new Map<string, Promise<PrincipalSandbox>>();
  private closed = false;

  private constructor(
    private readonly opts: BridgeOptions,
    readonly socketPath: string,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Puts the shim in place and listens on the session's socket. */
  static async open(opts: BridgeOptions): Promise<McpBridge> {
    prepareRunDir(opts.workspace);
    const socketPath = socketPathFor(opts.workspace, opts.session);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(
        `the MCP socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; ` +
          'use a workspace with a shorter path, or a shorter session name',
      );
    }
    fs.rmSync(socketPath, { force: true });
    const bridge = new McpBridge(opts, socketPath);
    await new Promise<void>((resolve, reject) => {
      bridge.server.once('error', reject);
      bridge.server.listen(socketPath, () => resolve());
    });
    // Only the sandbox's user may connect (root, or the owner given); on the host, no other
    // user may drive the session's servers.
    fs.chmodSync(socketPath, 0o600);
    if (opts.owner) fs.chownSync(socketPath, opts.owner.uid, opts.owner.gid);
    return bridge;
  }

  /** The agent's command line, pointed at every governed server through the shim when its
   *  profile says where its MCP configuration goes; unchanged otherwise. */
  agentCommand(agent: string, command: string[]): string[] {
    const profile = agentProfile(agent);
    if (!profile.mcpArgs || command.length === 0) return command;
    const shims: Record<string, string[]> = {};
    for (const name of this.opts.servers.keys()) {
      shims[name] = shimCommand(this.opts.workspace, this.opts.session, name);
    }
    return [command[0] as string, ...profile.mcpArgs(shims), ...command.slice(1)];
  }

  /** The principals of the governed servers whose sandboxes are started. */
  principals(): string[] {
    return [...this.sandboxes.keys()].map((name) => `mcp:${name}`);
  }

  /** A reloaded policy, for every server's sandbox (the agent's is already swapped). */
  applyPolicy(text: string, origin: string): void {
    this.eachSandbox((s, server) => {
      try {
        s.applyPolicy(text, origin);
      } catch (err) {
        this.opts.log.error('the MCP server sandbox kept its old policy', {
          server,
          error: (err as Error).message,
        });
      }
    });
  }

  setMode(mode: Mode): void {
    this.eachSandbox((s) => s.setMode(mode));
  }

  /** Stops listening, ends every conversation and every server's sandbox. */
  async close(): Promise<void> {
    this.closed = true;
    this.server.close();
    for (const s of this.conversations) s.destroy();
    fs.rmSync(this.socketPath, { force: true });
    const started = [...this.sandboxes.values()];
    this.sandboxes.clear();
    await Promise.all(
      started.map((p) => p.then((s) => s.stop('the session ended')).catch(() => undefined)),
    );
  }

  /** Calls `fn` with each server's sandbox once it has started (now, or when it has). */
  private eachSandbox(fn: (s: PrincipalSandbox, server: string) => void): void {
    for (const [server, started] of this.sandboxes) {
      started.then((s) => fn(s, server)).catch(() => undefined);
    }
  }

  /** The server's sandbox, started on first use; a sandbox that ends is started anew next time. */
  private sandboxFor(server: GovernedServer): Promise<PrincipalSandbox> {
    if (this.closed) return Promise.reject(new Error('the session is ending'));
    const running = this.sandboxes.get(server.name);
    if (running) return running;
    const principal = `mcp:${server.name}`;
    const started = (async () => {
      const sandbox = this.opts.principalSandbox(principal, server.command, server.env);
      await sandbox.start();
      sandbox.onStop(() => {
        if (this.sandboxes.get(server.name) === started) this.sandboxes.delete(server.name);
      });
      return sandbox;
    })();
    this.sandboxes.set(server.name, started);
    started.catch(() => this.sandboxes.delete(server.name));
    return started;
  }

  private accept(socket: net.Socket): void {
    this.conversations.add(socket);
    socket.on('close', () => this.conversations.delete(socket));
    socket.on('error', (err) =>
      this.opts.log.debug('MCP shim connection failed', { error: err.message }),
    );
    const timer = setTimeout(() => refuse('no server named within 10 s'), HANDSHAKE_MS);
    const refuse = (why: string): void => {
      clearTimeout(timer);
      socket.end(JSON.stringify({ error: why }) + '\n');
    };

    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(0x0a);
      if (nl < 0) {
        if (head.length > 1024) refuse('the first line must name the server, as {"server":"NAME"}');
        return;
      }
      socket.off('data', onHead);
      socket.pause();
      clearTimeout(timer);
      const rest = head.subarray(nl + 1);
      let name: unknown;
      try {
        name = (JSON.parse(head.subarray(0, nl).toString('utf8')) as { server?: unknown }).server;
      } catch (err) {
        refuse(`the first line must be {"server":"NAME"}: ${(err as Error).message}`);
        return;
      }
      const server = typeof name === 'string' ? this.opts.servers.get(name) : undefined;
      if (!server) {
        const known = [...this.opts.servers.keys()].join(', ') || 'none';
        refuse(`no governed MCP server named ${String(name)}; declared on this host: ${known}`);
        return;
      }
      this.relay(socket, server, rest).catch((err: Error) => {
        this.opts.log.warn('MCP server did not start', { server: server.name, error: err.message });
        refuse(`MCP server ${server.name} did not start: ${err.message}`);
      });
    };
    socket.on('data', onHead);
  }

  /** Sends SIGTERM, then SIGKILL, to a server that outlives its input, by its pid in the
   *  sandbox (the launcher runs the server in its own place). */
  private async stopLingering(
    exec: Docker.Exec,
    containerId: string,
    pid: number,
    server: string,
  ): Promise<void> {
    for (const signal of ['TERM', 'KILL']) {
      await new Promise((r) => setTimeout(r, EXIT_GRACE_MS).unref());
      const running = await exec.inspect().then(
        (i) => i.Running,
        () => false,
      );
      if (!running) return;
      this.opts.log.info('MCP server still running after its input ended', { server, signal });
      await this.opts.runtime
        .exec(containerId, ['/bin/sh', '-c', `kill -${signal} "$0"`, String(pid)], {
          tty: false,
          env: {},
          workdir: '/',
        })
        .then(({ stream }) => stream.resume())
        .catch((err: Error) =>
          this.opts.log.warn('could not signal the MCP server', { server, error: err.message }),
        );
    }
  }

  /** Starts the server in the sandbox and relays the conversation through the gate. */
  private async relay(socket: net.Socket, server: GovernedServer, early: Buffer): Promise<void> {
    const { runtime, workspace, mcp, log } = this.opts;
    const sandbox = await this.sandboxFor(server);
    const containerId = sandbox.container?.id;
    if (!containerId) throw new Error(`the sandbox of ${server.name} has no container`);
    const onErr = (chunk: Buffer): void => {
      log.debug('MCP server stderr', { server: server.name, text: chunk.toString('utf8') });
    };
    const { exec, stream, stdout, launched } = await launchSupervised(
      runtime,
      containerId,
      server.command,
      { env: {}, workdir: server.cwd ?? workspace },
      (pid, fd) => sandbox.superviseLaunch(pid, fd),
      onErr,
    );
    mcp.recordServer(server.name, 'Start', { command: server.command, pid: launched.pid });

    const gate = mcp.gate(server.name, 'stdio');
    const toClient = (text: string): void => void socket.write(text + '\n');
    const fromClient = new LineReader(
      (line) => {
        const out = gate.fromClient(line);
        if (out.toServer !== undefined) stream.write(out.toServer + '\n');
        if (out.toClient !== undefined) toClient(out.toClient);
      },
      () => {
        log.warn('MCP client sent a line over the size limit; closing', { server: server.name });
        socket.destroy();
      },
    );
    const fromServer = new LineReader(
      (line) => toClient(gate.fromServer(line)),
      () => {
        log.warn('MCP server sent a line over the size limit; closing', { server: server.name });
        socket.destroy();
      },
    );
    stdout.on('data', (chunk: Buffer) => fromServer.push(chunk));
    stream.on('end', () => {
      socket.end();
      void exec
        .inspect()
        .then((i) => mcp.recordServer(server.name, 'Stop', { exitCode: i.ExitCode ?? null }))
        .catch((err: Error) =>
          log.debug('could not read the MCP server exit', { error: err.message }),
        );
    });
    // The client leaving ends the server's input; a server still running after that is
    // asked to stop, then made to (MCP's stdio shutdown).
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      stream.end();
      void this.stopLingering(exec, containerId, launched.pid, server.name);
    };
    socket.on('end', end);
    socket.on('close', end);

    socket.write(JSON.stringify({ ok: true }) + '\n');
    if (early.length > 0) fromClient.push(early);
    socket.on('data', (chunk: Buffer) => fromClient.push(chunk));
    socket.resume();
  }
}

/** How long a server may take to exit after its input ends, and after SIGTERM. */
const EXIT_GRACE_MS = 5_000;
