/**
 * What the sidebar shows: sessions ▸ principals ▸ events, newest first, kept from the live
 * stream, with the filters the user chose. Pure (no VS Code), so it is unit-tested.
 */
import type { AuditEvent, SessionInfo } from './wire';

/** Events kept per principal; older ones are dropped from the view (the audit log keeps all). */
export const EVENTS_PER_PRINCIPAL = 500;

export interface Filters {
  deniedOnly: boolean;
  /** Kinds shown; empty means every kind. */
  kinds: string[];
}

export interface SessionEntry {
  name: string;
  info?: SessionInfo;
  running: boolean;
  principals: Map<string, AuditEvent[]>;
}

export class EventModel {
  private readonly sessions = new Map<string, SessionEntry>();
  private lastId = 0n;
  /** Denials received since the extension started, per session. */
  private readonly denialsSinceStart = new Map<string, number>();
  filters: Filters = { deniedOnly: false, kinds: [] };

  /** The id to resume the live stream after (as leashd's `after_id`). */
  get afterId(): string {
    return this.lastId === 0n ? '' : this.lastId.toString();
  }

  /** Replaces the list of running sessions; ended ones stay, marked not running. */
  setRunning(infos: SessionInfo[]): void {
    for (const s of this.sessions.values()) s.running = false;
    for (const info of infos) {
      const entry = this.entry(info.name);
      entry.info = info;
      entry.running = true;
      for (const p of info.principals) if (!entry.principals.has(p)) entry.principals.set(p, []);
    }
  }

  /** Adds an event; returns false when it was already seen (a resumed stream). */
  add(e: AuditEvent, live: boolean): boolean {
    const id = BigInt(e.id || '0');
    if (id !== 0n && id <= this.lastId) return false;
    if (id > this.lastId) this.lastId = id;
    if (!e.principal) return true; // session start/stop rows: no principal to file them under
    const entry = this.entry(e.session);
    const events = entry.principals.get(e.principal) ?? [];
    events.unshift(e);
    if (events.length > EVENTS_PER_PRINCIPAL) events.length = EVENTS_PER_PRINCIPAL;
    entry.principals.set(e.principal, events);
    if (live && e.decision === 'deny') {
      this.denialsSinceStart.set(e.session, (this.denialsSinceStart.get(e.session) ?? 0) + 1);
    }
    return true;
  }

  /** Sessions, running first, then newest name first. */
  list(): SessionEntry[] {
    return [...this.sessions.values()].sort(
      (a, b) => Number(b.running) - Number(a.running) || b.name.localeCompare(a.name),
    );
  }

  get(name: string): SessionEntry | undefined {
    return this.sessions.get(name);
  }

  /** A principal's events that pass the filters, newest first. */
  events(session: string, principal: string): AuditEvent[] {
    const all = this.sessions.get(session)?.principals.get(principal) ?? [];
    const { deniedOnly, kinds } = this.filters;
    return all.filter(
      (e) =>
        (!deniedOnly || e.decision === 'deny' || e.decision === 'would-deny') &&
        (kinds.length === 0 || kinds.includes(e.kind)),
    );
  }

  /** Running sessions and denials since start, for sessions whose workspace is `workspace`. */
  totals(workspace: string | undefined): { running: number; denials: number } {
    let running = 0;
    let denials = 0;
    for (const s of this.sessions.values()) {
      if (workspace !== undefined && s.info && s.info.workspace !== workspace) continue;
      if (s.running) running++;
      denials += this.denialsSinceStart.get(s.name) ?? 0;
    }
    return { running, denials };
  }

  /** Every kind seen so far, for the kind filter's choices. */
  kinds(): string[] {
    const seen = new Set<string>();
    for (const s of this.sessions.values())
      for (const events of s.principals.values()) for (const e of events) seen.add(e.kind);
    return [...seen].sort();
  }

  private entry(name: string): SessionEntry {
    let entry = this.sessions.get(name);
    if (!entry) {
      entry = { name, running: false, principals: new Map() };
      this.sessions.set(name, entry);
    }
    return entry;
  }
}
