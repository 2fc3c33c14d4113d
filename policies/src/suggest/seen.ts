/**
 * What a session did, as `suggest` needs it: the file opens and connects of its audit events,
 * deduplicated. Which events count depends on the mode the session was in when they happened:
 * in record and shadow mode every decision, in enforce mode only the denials.
 */
import type { FileAccess } from '../ir';

/** One file access a principal was seen to make. */
export interface SeenFile {
  principal: string;
  path: string;
  access: FileAccess;
}

/** One connect a principal was seen to make. */
export interface SeenConnect {
  principal: string;
  ip: string;
  port: number;
}

/** One program a principal was seen to run, with its argv[1..]. */
export interface SeenExec {
  principal: string;
  program: string;
  argv: string[];
}

/** One HTTP request a principal was seen to send through the proxy. */
export interface SeenHttp {
  principal: string;
  host: string;
  port: number;
  method: string;
  path: string;
}

/** One MCP tool call a principal was seen to make. */
export interface SeenMcp {
  principal: string;
  server: string;
  tool: string;
  arguments: string;
}

export interface Seen {
  files: SeenFile[];
  connects: SeenConnect[];
  execs: SeenExec[];
  http: SeenHttp[];
  mcp: SeenMcp[];
  /** Events taken (before deduplication). */
  events: number;
  /** The session's workspace and policy file, from its Start event. */
  workspace?: string;
  policyFile?: string;
  /** The modes the session was in while it was seen, in order. */
  modes: string[];
  /** Whether some events came from enforce mode, where only denials are known. */
  enforceOnly: boolean;
}

/** An audit event in the flat JSON form of docs/audit.md (only the fields used here). */
export interface AuditEvent {
  kind?: unknown;
  action?: unknown;
  decision?: unknown;
  principal?: unknown;
  path?: unknown;
  access?: unknown;
  ip?: unknown;
  port?: unknown;
  policies?: unknown;
  resource?: unknown;
  argv?: unknown;
  host?: unknown;
  method?: unknown;
  server?: unknown;
  tool?: unknown;
  arguments?: unknown;
  mode?: unknown;
  new?: unknown;
  workspace?: unknown;
  origin?: unknown;
}

const ACCESSES: Record<string, FileAccess[]> = {
  read: ['read'],
  write: ['write'],
  readwrite: ['read', 'write'],
};

/** The built-in permit of connects that the proxy takes over (helper/src/proxy). */
const EGRESS_RULE = 'leash:builtin/egress';

/** The kinds of events a policy decides. */
const JUDGED = new Set(['file', 'net', 'exec', 'http', 'mcp']);

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Reads events in the order they were stored (by id). */
export function seenFromEvents(events: AuditEvent[]): Seen {
  const out: Seen = {
    files: [],
    connects: [],
    execs: [],
    http: [],
    mcp: [],
    events: 0,
    modes: [],
    enforceOnly: false,
  };
  const files = new Map<string, SeenFile>();
  const connects = new Map<string, SeenConnect>();
  const execs = new Map<string, SeenExec>();
  const http = new Map<string, SeenHttp>();
  const mcp = new Map<string, SeenMcp>();
  let mode = 'enforce';

  for (const e of events) {
    if (e.kind === 'session' && e.action === 'Start') {
      mode = text(e.mode) ?? mode;
      out.workspace = text(e.workspace);
      out.policyFile = text(e.origin);
      out.modes.push(mode);
      continue;
    }
    if (e.kind === 'session' && e.action === 'Mode') {
      mode = text(e.new) ?? mode;
      out.modes.push(mode);
      continue;
    }
    if (!JUDGED.has(String(e.kind))) continue;
    if (e.kind === 'mcp' && e.action !== 'McpCall') continue;
    if (mode === 'enforce' && e.decision !== 'deny') continue;
    if (mode === 'enforce') out.enforceOnly = true;
    const principal = text(e.principal);
    if (principal === undefined) continue;

    if (e.kind === 'file') {
      const path = text(e.path);
      const accesses = ACCESSES[text(e.access) ?? ''];
      if (path === undefined || accesses === undefined) continue;
      out.events++;
      for (const a of accesses) {
        files.set(JSON.stringify([principal, path, a]), { principal, path, access: a });
      }
    } else if (e.kind === 'net') {
      // Connects to the proxy's redirected ports are leashd's own built-in permit: no policy
      // needs to allow them.
      if (Array.isArray(e.policies) && e.policies.includes(EGRESS_RULE)) continue;
      const ip = text(e.ip);
      if (ip === undefined || typeof e.port !== 'number') continue;
      out.events++;
      connects.set(JSON.stringify([principal, ip, e.port]), { principal, ip, port: e.port });
    } else if (e.kind === 'exec') {
      // A program that could not be named (the dynamic loader, an unknown program) is no
      // path a policy can permit.
      const program = text(e.resource);
      if (program === undefined || !program.startsWith('/')) continue;
      const argv = Array.isArray(e.argv)
        ? e.argv.filter((a): a is string => typeof a === 'string')
        : [];
      out.events++;
      execs.set(JSON.stringify([principal, program, argv]), { principal, program, argv });
    } else if (e.kind === 'http') {
      const host = text(e.host) ?? text(e.resource);
      if (host === undefined || host === '' || typeof e.port !== 'number') continue;
      const seen = {
        principal,
        host,
        port: e.port,
        method: text(e.method) ?? 'GET',
        path: text(e.path) ?? '/',
      };
      out.events++;
      http.set(JSON.stringify(seen), seen);
    } else {
      const server = text(e.server);
      const tool = text(e.tool);
      if (server === undefined || tool === undefined) continue;
      const seen = { principal, server, tool, arguments: text(e.arguments) ?? '{}' };
      out.events++;
      mcp.set(JSON.stringify(seen), seen);
    }
  }
  out.files = [...files.values()];
  out.connects = [...connects.values()];
  out.execs = [...execs.values()];
  out.http = [...http.values()];
  out.mcp = [...mcp.values()];
  return out;
}
