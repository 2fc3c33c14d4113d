/** The audit store survives a writer killed with SIGKILL in the middle of its batches. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { AuditStore } from './store';

const BATCH = 500;

/** A writer process that appends numbered batches until it is killed, announcing each commit. */
const WRITER = `
const { AuditStore } = require(${JSON.stringify(path.join(__dirname, 'store.js'))});
const store = new AuditStore(process.argv[1]);
for (let n = 0; ; n++) {
  const batch = [];
  for (let i = 0; i < ${BATCH}; i++) {
    batch.push({ session: 'crash', principal: 'shell', kind: 'file', action: 'ReadFile',
      resource: '/w/batch-' + n + '/' + i, decision: i % 7 ? 'allow' : 'deny', policies: ['p'],
      count: 1, pid: n, comm: 'writer', details: { batch: n, i, pad: 'x'.repeat(200) } });
  }
  store.append(batch);
  process.stdout.write('committed ' + n + '\\n');
}
`;

describe('the audit store after a crash', () => {
  it('keeps whole batches only, with a clean database, when its writer is killed mid-batch', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'leash-crash-')), 'audit.db');
    const child = spawn(process.execPath, ['-e', WRITER, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const lastCommitted = (): number => {
      const all = [...out.matchAll(/committed (\d+)\n/g)];
      return all.length ? Number(all[all.length - 1]?.[1]) : -1;
    };
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Kill at a moment of the child's choosing rather than ours: right after a commit
        // announcement the next transaction is already being written.
        if (lastCommitted() >= 30) resolve();
      });
      child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${err}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const committed = lastCommitted();

    const check = new Database(file, { readonly: true });
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    check.close();

    const store = new AuditStore(file);
    const rows = store.query({ session: 'crash' });
    const perBatch = new Map<number, number>();
    for (const r of rows) {
      const n = r.details.batch as number;
      perBatch.set(n, (perBatch.get(n) ?? 0) + 1);
    }
    const batches = [...perBatch.keys()].sort((a, b) => a - b);
    assert.ok(batches.length >= committed + 1, `every announced batch is there (${committed})`);
    assert.deepEqual(batches, [...Array(batches.length).keys()], 'no batch is missing');
    for (const [n, count] of perBatch) assert.equal(count, BATCH, `batch ${n} is whole`);
    const [totals] = store.sessionCounts();
    assert.equal(totals?.events, rows.length);
    assert.equal(totals?.denials, rows.filter((r) => r.decision === 'deny').length);
    store.append([
      {
        session: 'crash',
        principal: 'shell',
        kind: 'file',
        action: 'ReadFile',
        resource: '/w/after-crash',
        decision: 'allow',
        policies: [],
        count: 1,
        pid: 1,
        comm: 'test',
        details: {},
      },
    ]);
    assert.equal(store.query({ session: 'crash', text: 'after-crash' }).length, 1);
    store.close();
  });
});
