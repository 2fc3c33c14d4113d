import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { AuditStore } from './store';
import type { NewEvent } from './event';

function tempDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'leash-audit-')), 'audit.db');
}

function event(over: Partial<NewEvent> = {}): NewEvent {
  return {
    session: 's1',
    principal: 'shell',
    kind: 'file',
    action: 'ReadFile',
    resource: '/w/a.txt',
    decision: 'allow',
    policies: ['p'],
    count: 1,
    pid: 10,
    comm: 'cat',
    details: { path: '/w/a.txt', access: 'read' },
    ...over,
  };
}

describe('the audit store', () => {
  it('stores events with increasing ids, nanosecond times and the machine name', () => {
    const store = new AuditStore(tempDb());
    const [a, b] = store.append([event(), event({ resource: '/w/b.txt' })]);
    assert.ok(a && b && b.id > a.id);
    assert.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(a.machine, os.hostname());
    assert.deepEqual(store.query({})[1]?.details, { path: '/w/a.txt', access: 'read' });
    store.close();
  });

  it('filters by session, principal, kind, decision, time, text and id', () => {
    const store = new AuditStore(tempDb());
    store.append([
      event({ time: '2026-01-01T00:00:00.000000000Z' }),
      event({ session: 's2', principal: 'mcp:git', decision: 'deny', policies: [] }),
      event({
        kind: 'net',
        action: 'Connect',
        resource: '10.0.0.1:80',
        time: '2026-06-01T00:00:00.000000000Z',
      }),
    ]);
    assert.equal(store.query({ session: 's2' }).length, 1);
    assert.equal(store.query({ principal: 'mcp:git' })[0]?.session, 's2');
    assert.equal(store.query({ kind: 'net' })[0]?.resource, '10.0.0.1:80');
    assert.equal(store.query({ decision: 'deny' }).length, 1);
    assert.equal(store.query({ until: '2026-02-01T00:00:00.000000000Z' }).length, 1);
    assert.equal(store.query({ since: '2026-05-01T00:00:00.000000000Z', kind: 'net' }).length, 1);
    assert.equal(store.query({ text: 'A.TXT' }).length, 2);
    assert.equal(store.query({ text: '%' }).length, 0, 'LIKE wildcards in the text are literal');
    const first = store.query({})[0]?.id ?? 0;
    assert.equal(store.query({ afterId: first }).length, 2);
    store.close();
  });

  it('gives the newest matching events, oldest first, when asked for the newest', () => {
    const store = new AuditStore(tempDb());
    store.append(
      [1, 2, 3, 4, 5].map((n) =>
        event({ resource: `/w/${n}`, decision: n % 2 ? 'deny' : 'allow' }),
      ),
    );
    const newest = store.query({ decision: 'deny', limit: 2, newest: true });
    assert.deepEqual(
      newest.map((e) => e.resource),
      ['/w/3', '/w/5'],
    );
    assert.deepEqual(
      store.query({ limit: 2 }).map((e) => e.resource),
      ['/w/1', '/w/2'],
    );
    store.close();
  });

  it('prunes by age and by count, oldest first', () => {
    const store = new AuditStore(tempDb());
    store.append([
      event({ time: '2020-01-01T00:00:00.000000000Z' }),
      event({ resource: '/w/2' }),
      event({ resource: '/w/3' }),
      event({ resource: '/w/4' }),
    ]);
    assert.equal(store.prune({ maxAgeDays: 30, maxEvents: 0 }), 1);
    assert.equal(store.prune({ maxAgeDays: 0, maxEvents: 2 }), 1);
    assert.deepEqual(
      store.query({}).map((e) => e.resource),
      ['/w/3', '/w/4'],
    );
    store.close();
  });

  it('counts events and denials per session', () => {
    const store = new AuditStore(tempDb());
    store.append([event({ count: 5 }), event({ decision: 'deny' }), event({ session: 's2' })]);
    const [s1, s2] = store.sessionCounts();
    assert.equal(s1?.events, 6);
    assert.equal(s1?.denials, 1);
    assert.equal(s2?.session, 's2');
    store.close();
  });

  it('keeps session totals equal to a count over the stored events through appends and prunes', () => {
    const file = tempDb();
    const store = new AuditStore(file);
    const day = (d: number): string => `2020-01-${String(d).padStart(2, '0')}T00:00:00.000000000Z`;
    for (let d = 1; d <= 20; d++) {
      store.append(
        Array.from({ length: 30 }, (_, i) =>
          event({
            session: `s${(d * i) % 4}`,
            time: day(d),
            decision: i % 3 ? 'allow' : 'deny',
            count: 1 + (i % 2),
          }),
        ),
      );
    }
    const counted = (): unknown => {
      const db = new Database(file, { readonly: true });
      const rows = db
        .prepare(
          `SELECT session, SUM(count) AS events,
             SUM(CASE WHEN decision = 'deny' THEN count ELSE 0 END) AS denials,
             MIN(time) AS first, MAX(time) AS last
           FROM events GROUP BY session ORDER BY MIN(id)`,
        )
        .all();
      db.close();
      return rows;
    };
    assert.deepEqual(store.sessionCounts(), counted());
    store.prune({ maxAgeDays: 1, maxEvents: 0 }, new Date('2020-01-08T12:00:00Z'));
    assert.deepEqual(store.sessionCounts(), counted());
    store.prune({ maxAgeDays: 0, maxEvents: 45 });
    assert.deepEqual(store.sessionCounts(), counted());
    store.prune({ maxAgeDays: 0, maxEvents: 1 });
    assert.deepEqual(store.sessionCounts(), counted());
    assert.equal(store.sessionCounts().length, 1);
    store.close();
  });

  it('fills the session totals when it upgrades a version 1 database', () => {
    const file = tempDb();
    const v1 = new AuditStore(file);
    v1.append([event({ count: 3 }), event({ decision: 'deny' }), event({ session: 's2' })]);
    v1.close();
    const db = new Database(file);
    db.exec('DROP TABLE session_totals');
    db.pragma('user_version = 1');
    db.close();
    const store = new AuditStore(file);
    assert.deepEqual(
      store.sessionCounts().map((t) => [t.session, t.events, t.denials]),
      [
        ['s1', 4, 1],
        ['s2', 1, 0],
      ],
    );
    store.close();
  });

  it('announces each stored event to live listeners', () => {
    const store = new AuditStore(tempDb());
    const seen: number[] = [];
    store.live.on('event', (e: { id: number }) => seen.push(e.id));
    const stored = store.append([event(), event()]);
    assert.deepEqual(
      seen,
      stored.map((e) => e.id),
    );
    store.close();
  });

  it('refuses a database from a newer leashd instead of guessing', () => {
    const file = tempDb();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new AuditStore(file), /schema version 99, newer than this leashd/);
  });
});
