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

export interface Seen {
  files: SeenFile[];
  connects: SeenConnect[];
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

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Reads events in the order they were stored (by id). */
export function seenFromEvents(events: AuditEvent[]): Seen {
  const out: Seen = { files: [], connects: [], events: 0, modes: [], enforceOnly: false };
  const files = new Map<string, SeenFile>();
  const connects = new Map<string, SeenConnect>();
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
    if (e.kind !== 'file' && e.kind !== 'net') continue;
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
    } else {
      const ip = text(e.ip);
      if (ip === undefined || typeof e.port !== 'number') continue;
      out.events++;
      connects.set(JSON.stringify([principal, ip, e.port]), { principal, ip, port: e.port });
    }
  }
  out.files = [...files.values()];
  out.connects = [...connects.values()];
  return out;
}
