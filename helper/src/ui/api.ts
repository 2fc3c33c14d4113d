/** The JSON API of the Control UI: sessions, a session's policy, switching mode, applying. */
import { splitPolicies } from '@leash/policies';
import type { Logger } from '../log';
import type { SessionManager } from '../session/manager';
import { parseMode } from '../session/modes';
import type { Session } from '../session/session';

export interface ApiReply {
  status: number;
  body: unknown;
}

/** An error the client caused; its message is shown in the page. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sessionView(s: Session): Record<string, unknown> {
  return {
    name: s.name,
    agent: s.spec.agent,
    principals: [s.principal],
    workspace: s.spec.workspace,
    mode: s.currentMode,
    state: s.state,
    started: s.started,
    policyOrigin: s.policy.origin,
    policyHash: s.policy.hash,
    denials: s.denials,
  };
}

/** Each policy's own text by its `@id`, so an event's deciding policies can be shown. */
export function policiesById(text: string): Record<string, string> {
  const byId: Record<string, string> = {};
  for (const p of splitPolicies(text)) {
    const t = p.tokens;
    if (t[0]?.text === '@' && t[1]?.text === 'id' && t[3]?.kind === 'string') {
      byId[t[3].value] = p.text;
    }
  }
  return byId;
}

export function handleApi(
  sessions: SessionManager,
  log: Logger,
  method: string,
  parts: string[],
  body: unknown,
): ApiReply {
  if (method === 'GET' && parts.length === 1 && parts[0] === 'sessions') {
    return { status: 200, body: { sessions: sessions.list().map(sessionView) } };
  }
  if (parts[0] !== 'sessions' || parts.length !== 3) throw new ApiError(404, 'no such API');
  const session = findSession(sessions, parts[1] ?? '');

  if (parts[2] === 'policy' && method === 'GET') {
    const p = session.policy;
    return {
      status: 200,
      body: { text: p.text, origin: p.origin, hash: p.hash, policies: policiesById(p.text) },
    };
  }
  if (parts[2] === 'policy' && method === 'POST') {
    const text = field(body, 'text');
    const result = session.tryApplyPolicy(text, session.policy.origin);
    if (result.applied) {
      log.info('policy applied from the Control UI', {
        session: session.name,
        newHash: result.newHash,
      });
    }
    return { status: 200, body: result };
  }
  if (parts[2] === 'mode' && method === 'POST') {
    let mode;
    try {
      mode = parseMode(field(body, 'mode'));
    } catch (err) {
      throw new ApiError(400, (err as Error).message);
    }
    session.setMode(mode);
    log.info('mode switched from the Control UI', { session: session.name, mode });
    return { status: 200, body: sessionView(session) };
  }
  throw new ApiError(405, `${method} is not allowed on ${parts.join('/')}`);
}

function findSession(sessions: SessionManager, name: string): Session {
  const found = sessions.list().find((s) => s.name === name);
  if (!found) throw new ApiError(404, `no running session named ${name}`);
  return found;
}

function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | null)?.[name];
  if (typeof value !== 'string') throw new ApiError(400, `the body needs a string "${name}"`);
  return value;
}
