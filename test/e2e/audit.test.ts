/** The audit log through leashd: export format, filters and resumable live streams. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, sleep, TestDaemon } from '../support/leashd';

const SCHEMA = path.resolve(__dirname, '..', '..', '..', 'docs', 'audit.schema.json');

describe('the audit log', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  let session = '';
  let ws = '';
  before(async () => {
    await daemon.start();
    ws = makeWorkspace({ '.env': 'TOKEN=x\n' });
    const script = `cat ${ws}/.env; echo ok > ${ws}/out.txt; (exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null; true`;
    const r = daemon.cli(['run', '--json', '--workspace', ws, 'shell', '--', 'bash', '-c', script]);
    assert.equal(r.status, 0, r.stderr);
    session = sessionOf(r.stderr);
  });
  after(() => daemon.stop());

  it('exports JSON Lines that match docs/audit.schema.json', () => {
    const r = daemon.cli(['events', 'export', '--session', session]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const validate = new Ajv2020({ allErrors: true }).compile(
      JSON.parse(fs.readFileSync(SCHEMA, 'utf8')),
    );
    for (const line of lines) assert.ok(validate(line), JSON.stringify(validate.errors));
    const kinds = new Set(lines.map((l) => l.kind));
    for (const kind of ['session', 'file', 'net']) assert.ok(kinds.has(kind), `has ${kind} events`);
  });

  it('filters by decision, kind and text', () => {
    const denied = daemon.cli(['events', '--session', session, '--decision', 'deny', '--json']);
    const rows = denied.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { resource: string });
    assert.deepEqual(
      rows.map((r) => r.resource),
      [`${ws}/.env`],
    );
    const net = daemon.cli([
      'events',
      '--session',
      session,
      '--kind',
      'net',
      '--text',
      '127.0.0.1',
      '--json',
    ]);
    assert.match(net.stdout, /"resource":"127\.0\.0\.1:9"/);
  });

  it('streams live events and resumes after an id without gaps or repeats', async () => {
    const all = daemon.events(session);
    const middle = all[Math.floor(all.length / 2)]?.id as number;
    const follow = daemon.cliAsync(['events', '--follow', '--json', '--after', String(middle)]);
    await sleep(1000);
    const r = daemon.cli(['run', '--json', '--workspace', ws, 'shell', '--', 'cat', `${ws}/.env`]);
    const second = sessionOf(r.stderr);
    const deadline = Date.now() + 15_000;
    let seen: { id: number; session: string; kind: string; action: string }[] = [];
    while (Date.now() < deadline) {
      await sleep(200);
      seen = (follow.stdoutSoFar() as string)
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      if (seen.some((e) => e.session === second && e.kind === 'session' && e.action === 'Stop'))
        break;
    }
    follow.kill('SIGTERM');
    await follow.done;
    const ids = seen.map((e) => e.id);
    assert.equal(ids[0], middle + 1, 'resumes right after the given id');
    assert.deepEqual(
      ids,
      [...new Set(ids)].sort((a, b) => a - b),
      'increasing, no repeats',
    );
    assert.equal(ids[ids.length - 1]! - ids[0]! + 1, ids.length, 'no gaps');
    assert.ok(
      seen.some((e) => e.session === second),
      'live events of the new session arrive',
    );
  });

  it('lists ended sessions with their totals', () => {
    const r = daemon.cli(['sessions', '--all', '--json']);
    const row = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { session: string; denials: string })
      .find((s) => s.session === session);
    assert.equal(row?.denials, '1');
  });
});
