/** Modes: shadow lets through what the policy would deny and logs it; @always holds anyway. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon, waitFor } from '../support/leashd';

const BASE = fs.readFileSync(
  path.resolve(__dirname, '..', '..', 'fixtures', 'workspace-rw.cedar'),
  'utf8',
);

describe('modes', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('in shadow mode allows what the policy denies, logs it as would-deny, and still holds @always forbids', () => {
    const ws = makeWorkspace({ 'secret.txt': 'top\n', 'keys.pem': 'k\n' });
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(
      policy,
      BASE +
        `\n@id("no-secret")\nforbid (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"${ws}/secret.txt");\n` +
        `\n@id("never-keys")\n@always\nforbid (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"${ws}/keys.pem");\n`,
    );
    const r = daemon.cli([
      'run',
      '--json',
      '--mode',
      'shadow',
      '--policy',
      policy,
      '--workspace',
      ws,
      'shell',
      '--',
      'sh',
      '-c',
      `cat ${ws}/secret.txt; echo x > /etc/leash-shadow; cat ${ws}/keys.pem`,
    ]);
    assert.match(r.stdout, /^top$/m, 'the forbidden read went through');
    assert.match(r.stderr, /keys\.pem: Operation not permitted/, 'the @always forbid held');
    const events = daemon.events(sessionOf(r.stderr));
    const secret = events.find((e) => e.resource === `${ws}/secret.txt`);
    assert.equal(secret?.decision, 'would-deny');
    assert.deepEqual(secret?.policies, ['no-secret']);
    const etc = events.find((e) => e.resource === '/etc/leash-shadow');
    assert.equal(etc?.decision, 'would-deny');
    assert.deepEqual(etc?.policies, []);
    const keys = events.find((e) => e.resource === `${ws}/keys.pem`);
    assert.equal(keys?.decision, 'deny');
    assert.deepEqual(keys?.policies, ['never-keys']);
  });

  it('switches a running session between modes, and logs the switch', async () => {
    const ws = makeWorkspace({ 'data.txt': 'd\n' });
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(
      policy,
      BASE +
        `\n@id("no-data")\nforbid (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"${ws}/data.txt");\n`,
    );
    const run = daemon.cliAsync([
      'run',
      '--name',
      'switch',
      '--policy',
      policy,
      '--workspace',
      ws,
      'shell',
      '--',
      'sh',
      '-c',
      `cat ${ws}/data.txt; touch ${ws}/ran; while [ ! -e ${ws}/go ]; do sleep 0.1; done; ` +
        `cat ${ws}/data.txt`,
    ]);
    // The first read has been judged in enforce mode before the switch.
    await waitFor('the first read', () => fs.existsSync(path.join(ws, 'ran')), 60_000);
    const switched = daemon.cli(['mode', 'switch', 'record']);
    assert.equal(switched.status, 0, switched.stderr);
    assert.match(switched.stdout, /now in record mode/);
    fs.writeFileSync(path.join(ws, 'go'), '');
    const r = await run.done;
    assert.equal(r.stdout, 'd\n', 'denied in enforce, let through in record');
    const events = daemon.events('switch');
    assert.ok(events.some((e) => e.action === 'Mode' && e.new === 'record'));
    const decisions = events.filter((e) => e.resource === `${ws}/data.txt`).map((e) => e.decision);
    assert.deepEqual(decisions, ['deny', 'would-deny']);
    assert.match(daemon.cli(['mode', 'nope', 'shadow']).stderr, /no session named nope/);
  });
});
