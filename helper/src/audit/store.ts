/** The audit log: SQLite in WAL mode, one row per decision (allowed file opens aggregated). */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { nowRfc3339Nano } from '../time';
import type { AuditEvent, NewEvent } from './event';

const SCHEMA_VERSION = 2;

const MIGRATIONS: string[] = [
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time TEXT NOT NULL,
     session TEXT NOT NULL,
     principal TEXT NOT NULL,
     kind TEXT NOT NULL,
     action TEXT NOT NULL,
     machine TEXT NOT NULL,
     resource TEXT NOT NULL,
     decision TEXT NOT NULL,
     policies TEXT NOT NULL,
     count INTEGER NOT NULL,
     pid INTEGER NOT NULL,
     comm TEXT NOT NULL,
     details TEXT NOT NULL
   );
   CREATE INDEX events_session ON events(session, id);`,
  // Per-session totals kept as events are stored and pruned, so listing sessions does not scan
  // every event (a GROUP BY over a million rows takes seconds).
  `CREATE TABLE session_totals (
     session TEXT PRIMARY KEY,
     events INTEGER NOT NULL,
     denials INTEGER NOT NULL,
     first_id INTEGER NOT NULL,
     first TEXT NOT NULL,
     last TEXT NOT NULL
   );
   INSERT INTO session_totals
     SELECT session, SUM(count), SUM(CASE WHEN decision = 'deny' THEN count ELSE 0 END),
       MIN(id), MIN(time), MAX(time)
     FROM events WHERE session != '' GROUP BY session;`,
];

export interface SessionTotals {
  session: string;
  events: number;
  denials: number;
  first: string;
  last: string;
}

export interface EventFilter {
  session?: string;
  principal?: string;
  kind?: string;
  decision?: string;
  /** RFC 3339 bounds, inclusive. */
  since?: string;
  until?: string;
  /** Case-insensitive substring of the resource. */
  text?: string;
  afterId?: number;
  limit?: number;
  /** With `limit`: the newest matching events (still returned oldest first). */
  newest?: boolean;
}

export interface Retention {
  /** Events older than this many days are pruned; 0 keeps them forever. */
  maxAgeDays: number;
  /** At most this many events are kept, the oldest pruned first; 0 means no bound. */
  maxEvents: number;
}

interface Row {
  id: number;
  time: string;
  session: string;
  principal: string;
  kind: string;
  action: string;
  machine: string;
  resource: string;
  decision: string;
  policies: string;
  count: number;
  pid: number;
  comm: string;
  details: string;
}

export class AuditStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly addTotals: Database.Statement;
  private readonly machine = os.hostname();
  /** Emits 'event' with each stored AuditEvent, after it is committed. */
  readonly live = new EventEmitter();

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
    this.insert = this.db.prepare(
      `INSERT INTO events (time, session, principal, kind, action, machine, resource, decision,
         policies, count, pid, comm, details)
       VALUES (@time, @session, @principal, @kind, @action, @machine, @resource, @decision,
         @policies, @count, @pid, @comm, @details)`,
    );
    this.addTotals = this.db.prepare(
      `INSERT INTO session_totals (session, events, denials, first_id, first, last)
       VALUES (@session, @events, @denials, @firstId, @first, @last)
       ON CONFLICT (session) DO UPDATE SET events = events + excluded.events,
         denials = denials + excluded.denials, last = MAX(last, excluded.last)`,
    );
    this.live.setMaxListeners(0);
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `audit database has schema version ${current}, newer than this leashd understands ` +
          `(${SCHEMA_VERSION}); upgrade leash`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (step === undefined) throw new Error(`no migration from audit schema ${v}`);
      this.db.transaction(() => {
        this.db.exec(step);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Stores events in one transaction and announces them. */
  append(events: NewEvent[]): AuditEvent[] {
    const stored: AuditEvent[] = [];
    this.db.transaction(() => {
      for (const e of events) {
        const full = { ...e, time: e.time ?? nowRfc3339Nano(), machine: this.machine };
        const info = this.insert.run({
          ...full,
          policies: JSON.stringify(full.policies),
          details: JSON.stringify(full.details),
        });
        stored.push({ ...full, id: Number(info.lastInsertRowid) });
      }
      for (const t of totalsOf(stored).values()) this.addTotals.run(t);
    })();
    for (const e of stored) this.live.emit('event', e);
    return stored;
  }

  query(filter: EventFilter): AuditEvent[] {
    const where: string[] = ['id > @afterId'];
    if (filter.session) where.push('session = @session');
    if (filter.principal) where.push('principal = @principal');
    if (filter.kind) where.push('kind = @kind');
    if (filter.decision) where.push('decision = @decision');
    if (filter.since) where.push('time >= @since');
    if (filter.until) where.push('time <= @until');
    if (filter.text) where.push("resource LIKE @text ESCAPE '\\'");
    const newest = Boolean(filter.newest && filter.limit);
    const sql =
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id` +
      (newest ? ' DESC' : '') +
      (filter.limit ? ' LIMIT @limit' : '');
    const rows = this.db.prepare(sql).all({
      afterId: filter.afterId ?? 0,
      session: filter.session ?? '',
      principal: filter.principal ?? '',
      kind: filter.kind ?? '',
      decision: filter.decision ?? '',
      since: filter.since ?? '',
      until: filter.until ?? '',
      text: `%${(filter.text ?? '').replace(/[\\%_]/g, (c) => '\\' + c)}%`,
      limit: filter.limit ?? 0,
    }) as Row[];
    if (newest) rows.reverse();
    return rows.map(fromRow);
  }

  /** Per-session totals: events, denials, first and last time, oldest session first. */
  sessionCounts(): SessionTotals[] {
    return this.db
      .prepare(
        `SELECT session, events, denials, first, last FROM session_totals WHERE events > 0
         ORDER BY first_id`,
      )
      .all() as SessionTotals[];
  }

  /** Removes what the retention settings no longer keep; returns how many rows went. */
  prune(retention: Retention, now = new Date()): number {
    let removed = 0;
    this.db.transaction(() => {
      if (retention.maxAgeDays > 0) {
        const cutoff = new Date(now.getTime() - retention.maxAgeDays * 86_400_000).toISOString();
        removed += this.remove('time < ?', cutoff);
      }
      if (retention.maxEvents > 0) {
        removed += this.remove(
          'id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)',
          retention.maxEvents,
        );
      }
    })();
    return removed;
  }

  /** Deletes the events `where` selects and takes them off their sessions' totals. */
  private remove(where: string, arg: string | number): number {
    const gone = this.db
      .prepare(
        `SELECT session, SUM(count) AS events,
           SUM(CASE WHEN decision = 'deny' THEN count ELSE 0 END) AS denials
         FROM events WHERE ${where} AND session != '' GROUP BY session`,
      )
      .all(arg) as { session: string; events: number; denials: number }[];
    const changes = this.db.prepare(`DELETE FROM events WHERE ${where}`).run(arg).changes;
    const subtract = this.db.prepare(
      'UPDATE session_totals SET events = events - ?, denials = denials - ? WHERE session = ?',
    );
    const oldest = this.db.prepare(
      'SELECT id, time FROM events WHERE session = ? ORDER BY id LIMIT 1',
    );
    const drop = this.db.prepare('DELETE FROM session_totals WHERE session = ?');
    const move = this.db.prepare(
      'UPDATE session_totals SET first_id = ?, first = ? WHERE session = ?',
    );
    for (const g of gone) {
      subtract.run(g.events, g.denials, g.session);
      const first = oldest.get(g.session) as { id: number; time: string } | undefined;
      if (first) move.run(first.id, first.time, g.session);
      else drop.run(g.session);
    }
    return changes;
  }

  close(): void {
    this.db.close();
  }
}

/** One batch's contribution to each session's totals. */
function totalsOf(events: AuditEvent[]): Map<string, Record<string, string | number>> {
  const totals = new Map<string, Record<string, string | number>>();
  for (const e of events) {
    if (!e.session) continue;
    let t = totals.get(e.session);
    if (!t) {
      t = { session: e.session, events: 0, denials: 0, firstId: e.id, first: e.time, last: e.time };
      totals.set(e.session, t);
    }
    t.events = (t.events as number) + e.count;
    if (e.decision === 'deny') t.denials = (t.denials as number) + e.count;
    t.last = e.time;
  }
  return totals;
}

function fromRow(r: Row): AuditEvent {
  return {
    ...r,
    kind: r.kind as AuditEvent['kind'],
    decision: r.decision as AuditEvent['decision'],
    policies: JSON.parse(r.policies) as string[],
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

/** Whether an event passes a filter (for live streams). */
export function matches(e: AuditEvent, f: EventFilter): boolean {
  return (
    (!f.session || e.session === f.session) &&
    (!f.kind || e.kind === f.kind) &&
    (!f.decision || e.decision === f.decision) &&
    (!f.principal || e.principal === f.principal) &&
    (!f.since || e.time >= f.since) &&
    (!f.until || e.time <= f.until) &&
    (!f.text || e.resource.toLowerCase().includes(f.text.toLowerCase())) &&
    e.id > (f.afterId ?? 0)
  );
}
