/** leashd's OTLP export: every decision of a real session reaches a collector on loopback. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { sandboxSkip } from '../support/env';
import { OtlpCollector } from '../support/otlp-collector';
import { makeWorkspace, sessionOf, TestDaemon, waitFor } from '../support/leashd';

const byNumber = (a: unknown, b: unknown): number => Number(a) - Number(b);

describe('audit export over OTLP', { skip: sandboxSkip() }, () => {
  const collector = new OtlpCollector();
  let daemon: TestDaemon;
  let session = '';
  let ws = '';
  before(async () => {
    const endpoint = await collector.listen();
    daemon = new TestDaemon(['--otlp-endpoint', endpoint]);
    await daemon.start();
    ws = makeWorkspace({ '.env': 'TOKEN=x\n' });
    const r = daemon.cli([
      'run',
      '--json',
      '--workspace',
      ws,
      'shell',
      '--',
      'bash',
      '-c',
      `cat ${ws}/.env; true`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    session = sessionOf(r.stderr);
  });
  after(async () => {
    await daemon.stop();
    collector.close();
  });

  it('sends the denial with its session, decision and resource as log attributes', async () => {
    await waitFor('the denied .env read at the collector', () =>
      collector.records.some(
        (r) =>
          r.attributes['leash.session'] === session && r.attributes['leash.decision'] === 'deny',
      ),
    );
    const denial = collector.records.find(
      (r) => r.attributes['leash.session'] === session && r.attributes['leash.decision'] === 'deny',
    );
    assert.ok(denial);
    assert.equal(denial.attributes['leash.resource'], `${ws}/.env`);
    assert.equal(denial.attributes['leash.action'], 'ReadFile');
    assert.equal(denial.severityText, 'WARN');
    assert.equal(denial.resource['service.name'], 'leashd');
    assert.equal(denial.resource['host.name'], os.hostname());
    assert.ok(collector.contentTypes.every((t) => t.startsWith('application/json')));
  });

  it('sends the same events the store holds, session start and end included', async () => {
    await waitFor('the session end at the collector', () =>
      collector.records.some(
        (r) => r.attributes['leash.session'] === session && r.attributes['leash.action'] === 'Stop',
      ),
    );
    const stored = daemon.events(session).map((e) => e.id);
    const sent = collector.records
      .filter((r) => r.attributes['leash.session'] === session)
      .map((r) => r.attributes['leash.id']);
    assert.deepEqual([...new Set(sent)].sort(byNumber), [...new Set(stored)].sort(byNumber));
  });
});
