/** The gRPC service of leashd: each handler maps one call of helper/proto/leash.proto. */
import * as grpc from '@grpc/grpc-js';
import type { AuditStore, EventFilter } from '../audit/store';
import { matches } from '../audit/store';
import type { AuditEvent } from '../audit/event';
import type { AttachInputMsg, AttachOutputMsg, EventMsg, SessionInfoMsg } from '../grpc';
import type { Logger } from '../log';
import { mcpCalls } from '../mcp/calls';
import type { SandboxCommand } from '../runtime/runtime';
import type { SessionManager } from '../session/manager';
import { parseMode } from '../session/modes';
import { PolicyError, type Session } from '../session/session';
import { VERSION } from '../config';
import { readLaunchLine } from './launch';
import { secretCalls } from '../secrets/calls';

export interface DaemonState {
  backend: string;
  backendReason: string;
  socket: string;
  stateDir: string;
  problems: string[];
  /** The Control UI: its port (0 when not served), token, and why it is not served. */
  ui: { port: number; token: string; problem: string };
}

type Unary<Req, Res> = (
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
) => void;

/** Wraps an async handler so every failure reaches the client as a clear gRPC error. */
function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): Unary<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: Error) => callback(toGrpcError(err)),
      );
  };
}

function toGrpcError(err: Error): Partial<grpc.StatusObject> {
  const code =
    err instanceof PolicyError ? grpc.status.INVALID_ARGUMENT : grpc.status.FAILED_PRECONDITION;
  return { code, details: err.message };
}

export function sessionInfo(s: Session): SessionInfoMsg {
  return {
    name: s.name,
    agent: s.spec.agent,
    workspace: s.spec.workspace,
    mode: s.currentMode,
    state: s.state,
    policyHash: s.policyHash,
    policyOrigin: s.policy.origin,
    containerId: s.container?.id ?? '',
    started: s.started,
    principals: s.principals,
    denials: String(s.denials),
    notices: s.notices,
    runtime: s.spec.runtime,
  };
}

export function eventMsg(e: AuditEvent): EventMsg {
  return {
    ...e,
    id: String(e.id),
    count: String(e.count),
    details: JSON.stringify(e.details),
  };
}

export function buildService(deps: {
  sessions: SessionManager;
  store: AuditStore;
  state: DaemonState;
  log: Logger;
  shutdown: () => void;
}): grpc.UntypedServiceImplementation {
  const { sessions, store, state, log } = deps;

  return {
    ...mcpCalls(unary),

    status: unary(() => ({
      healthy: state.problems.length === 0,
      version: VERSION,
      backend: state.backend,
      backendReason: state.backendReason,
      sessions: sessions.list().length,
      pid: process.pid,
      stateDir: state.stateDir,
      socket: state.socket,
      problems: state.problems,
    })),

    controlUi: unary(() => state.ui),

    ...secretCalls(unary),

    shutdown: unary(() => {
      setImmediate(deps.shutdown);
      return {};
    }),

    createSession: unary(
      async (req: {
        name: string;
        agent: string;
        workspace: string;
        mode: string;
        policyText: string;
        policyOrigin: string;
        command: string[];
        env: Record<string, string>;
        runtime: string;
      }) => sessionInfo(await sessions.create(req)),
    ),

    stopSession: unary(async (req: { name: string }) => {
      await sessions.get(req.name).stop('stopped by request');
      return {};
    }),

    setMode: unary((req: { session: string; mode: string }) => {
      const session = sessions.get(req.session);
      session.setMode(parseMode(req.mode));
      return sessionInfo(session);
    }),

    listSessions: unary(() => ({ sessions: sessions.list().map(sessionInfo) })),

    sessionHistory: unary(() => ({
      sessions: store.sessionCounts().map((c) => ({
        ...c,
        events: String(c.events),
        denials: String(c.denials),
      })),
    })),

    applyPolicy: unary((req: { session: string; policyText: string; policyOrigin: string }) =>
      sessions.get(req.session).tryApplyPolicy(req.policyText, req.policyOrigin),
    ),

    getPolicy: unary((req: { session: string }) => {
      const p = sessions.get(req.session).policy;
      return { policyText: p.text, policyOrigin: p.origin, hash: p.hash };
    }),

    queryEvents: (call: grpc.ServerWritableStream<Record<string, unknown>, EventMsg>) => {
      const q = call.request as {
        session: string;
        principal: string;
        kind: string;
        decision: string;
        since: string;
        until: string;
        text: string;
        afterId: string;
        limit: number;
        follow: boolean;
      };
      const filter: EventFilter = {
        session: q.session,
        principal: q.principal,
        kind: q.kind,
        decision: q.decision,
        since: q.since,
        until: q.until,
        text: q.text,
        afterId: Number(q.afterId || 0),
        limit: q.follow ? 0 : q.limit,
      };
      // Subscribe before querying so nothing falls between the two; skip what the query gave.
      const buffered: AuditEvent[] = [];
      let lastId = filter.afterId ?? 0;
      let replaying = true;
      const onEvent = (e: AuditEvent): void => {
        if (!matches(e, filter)) return;
        if (replaying) buffered.push(e);
        else if (e.id > lastId) {
          lastId = e.id;
          call.write(eventMsg(e));
        }
      };
      if (q.follow) store.live.on('event', onEvent);
      try {
        for (const e of store.query(filter)) {
          lastId = e.id;
          call.write(eventMsg(e));
        }
      } catch (err) {
        store.live.off('event', onEvent);
        call.emit(
          'error',
          Object.assign(new Error((err as Error).message), { code: grpc.status.INTERNAL }),
        );
        return;
      }
      replaying = false;
      for (const e of buffered) onEvent(e);
      if (!q.follow) {
        call.end();
        return;
      }
      call.on('cancelled', () => store.live.off('event', onEvent));
      call.on('close', () => store.live.off('event', onEvent));
    },

    attach: (call: grpc.ServerDuplexStream<AttachInputMsg, AttachOutputMsg>) => {
      // Input that arrives while the command is being started (stdin, end of input) is kept
      // and delivered in order once it runs.
      const early: AttachInputMsg[] = [];
      let started = false;
      const onEarly = (msg: AttachInputMsg): void => {
        if (started) {
          early.push(msg);
          return;
        }
        started = true;
        if (!msg.start) {
          call.emit(
            'error',
            Object.assign(new Error('the first Attach message must be start'), {
              code: grpc.status.INVALID_ARGUMENT,
            }),
          );
          return;
        }
        startAttach(call, msg.start, sessions, log, () => {
          call.off('data', onEarly);
          return early;
        }).catch((err: Error) => {
          call.emit(
            'error',
            Object.assign(new Error(err.message), { code: grpc.status.FAILED_PRECONDITION }),
          );
        });
      };
      call.on('data', onEarly);
    },
  };
}

async function startAttach(
  call: grpc.ServerDuplexStream<AttachInputMsg, AttachOutputMsg>,
  start: NonNullable<AttachInputMsg['start']>,
  sessions: SessionManager,
  log: Logger,
  takeEarlyInput: () => AttachInputMsg[],
): Promise<void> {
  const session = sessions.get(start.session);
  if (!session.container) throw new Error(`session ${session.name} has no sandbox`);
  // `leash exec` runs a further command, as a principal of its own when asked; the session
  // outlives it. Otherwise this is the session's own command, and the session ends with it.
  const further = (start.command ?? []).length > 0;
  const principal = start.principal || session.principal;
  if (further) session.addPrincipal(principal);
  // The command starts under leash-launch, which waits until the change guard holds its
  // seccomp listener (and, for a further principal, leashd has moved it into that
  // principal's cgroup): nothing of the command runs before it is judged as what it is.
  const command = await session.startCommand(
    further ? (start.command ?? []) : session.commandLine(),
    start.tty,
  );
  const stream = command.stdin;
  if (start.tty && start.cols > 0) await resize(command, start.cols, start.rows, log);

  const toStdout = (chunk: Buffer): void => void call.write({ stdout: chunk });
  const toStderr = (chunk: Buffer): void => void call.write({ stderr: chunk });
  // With a terminal the launcher's line arrives with the rest of the output on stdout.
  if (!start.tty) command.stdout.on('data', toStdout);
  const launched = start.tty
    ? readLaunchLine(command.stdout, toStdout)
    : readLaunchLine(command.stderr, toStderr);

  // The session ends with its command; its events are stored before the exit code is sent,
  // so a client that then queries the audit log sees all of them.
  command.stdout.on('end', () => {
    const finish = async (): Promise<number> => {
      try {
        return await command.exitCode();
      } catch (err) {
        log.error('could not read the exit code', { error: (err as Error).message });
        return 255;
      } finally {
        if (!further) await session.stop('the command exited');
      }
    };
    void finish().then((code) => {
      call.write({ exitCode: code });
      call.end();
    });
  });
  // A client that goes away ends its session, or its further command: nothing keeps running
  // unattended.
  let hostPid = 0;
  call.on('cancelled', () => {
    if (!further) void session.stop('the client detached');
    else if (hostPid > 0) killQuietly(hostPid, log);
  });

  const ready = await launched;
  if (ready) {
    try {
      hostPid = session.superviseLaunch(ready.pid, ready.fd, principal);
    } catch (err) {
      // End of input makes the launcher give up (status 126) without running the command.
      stream.end();
      throw err;
    }
    stream.write(GO_AHEAD);
  }

  const onInput = (msg: AttachInputMsg): void => {
    if (msg.stdin) stream.write(msg.stdin);
    else if (msg.resize) void resize(command, msg.resize.cols, msg.resize.rows, log);
    else if (msg.closeStdin) stream.end();
  };
  for (const msg of takeEarlyInput()) onInput(msg);
  call.on('data', onInput);
}

function killQuietly(pid: number, log: Logger): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    log.debug('the detached command had already ended', { error: (err as Error).message });
  }
}

/** The byte that lets a waiting leash-launch run its command. */
const GO_AHEAD = Buffer.from('g');

async function resize(
  command: SandboxCommand,
  cols: number,
  rows: number,
  log: Logger,
): Promise<void> {
  await command.resize(cols, rows).catch((err: Error) => {
    log.debug('resize failed', { error: err.message });
  });
}
