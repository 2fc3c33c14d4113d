/** Sessions over time: hot reload, leashd's exit, the demo. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import {
  dockerContainers,
  makeWorkspace,
  sandboxRunning,
  sleep,
  TestDaemon,
  waitFor,
} from '../support/leashd';

const POLICY = path.resolve(__dirname, '..', '..', 'fixtures', 'workspace-rw.cedar');

describe('session lifecycle', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('applies a new policy to a running session; a bad one is refused and the old one stays', async () => {
    const ws = makeWorkspace({ 'data.txt': 'readable\n' });
    const run = daemon.cliAsync([
      'run',
      '--name',
      'reload',
      '--policy',
      POLICY,
      '--workspace',
      ws,
      'shell',
      '--',
      'sh',
      '-c',
      `cat ${ws}/data.txt; while [ ! -e ${ws}/go ]; do sleep 0.1; done; cat ${ws}/data.txt`,
    ]);
    await daemon.waitForSession('reload');

    const bad = path.join(ws, 'bad.cedar');
    fs.writeFileSync(
      bad,
      '@id("oops")\nforbid (principal, action, resource) when { context.x };\n',
    );
    const refused = daemon.cli(['policy', 'apply', '--session', 'reload', bad]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /bad\.cedar:2:\d+: error/);

    const stricter = path.join(ws, 'stricter.cedar');
    fs.writeFileSync(
      stricter,
      fs.readFileSync(POLICY, 'utf8') +
        `\n@id("no-data")\nforbid (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"${ws}/data.txt");\n`,
    );
    const applied = daemon.cli(['policy', 'apply', '--session', 'reload', stricter]);
    assert.equal(applied.status, 0, applied.stderr);

    fs.writeFileSync(path.join(ws, 'go'), '');
    const r = await run.done;
    assert.equal(r.stdout, 'readable\n');
    assert.match(r.stderr, /data\.txt: Operation not permitted/);
    const events = daemon.events('reload');
    assert.ok(events.some((e) => e.kind === 'policy' && e.action === 'Reload'));
    const denied = events.find((e) => e.decision === 'deny' && e.resource === `${ws}/data.txt`);
    assert.deepEqual(denied?.policies, ['no-data']);
  });

  it('follows its policy file on the host: a good change applies, a bad one is refused', async () => {
    const ws = makeWorkspace({ 'data.txt': 'readable\n' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-policy-'));
    const policy = path.join(dir, 'p.cedar');
    const base = fs.readFileSync(POLICY, 'utf8');
    fs.writeFileSync(policy, base);
    const script = `cat ${ws}/data.txt; while [ ! -e ${ws}/go ]; do sleep 0.1; done; cat ${ws}/data.txt`;
    const run = daemon.cliAsync([
      'run',
      '--name',
      'follow',
      '--policy',
      policy,
      '--workspace',
      ws,
      'shell',
      '--',
      'sh',
      '-c',
      script,
    ]);
    await daemon.waitForSession('follow');

    fs.writeFileSync(
      policy,
      base + '\n@id("broken")\nforbid (principal, action, resource) when { nope };\n',
    );
    await waitFor('the refusal', () =>
      daemon.events('follow').some((e) => e.kind === 'policy' && e.action === 'Refused'),
    );
    fs.writeFileSync(
      policy,
      base +
        `\n@id("no-data")\nforbid (principal, action == Leash::Action::"ReadFile", resource == Leash::File::"${ws}/data.txt");\n`,
    );
    await waitFor('the reload', () =>
      daemon.events('follow').some((e) => e.kind === 'policy' && e.action === 'Reload'),
    );
    fs.writeFileSync(path.join(ws, 'go'), '');
    const r = await run.done;
    assert.equal(r.stdout, 'readable\n');
    assert.match(r.stderr, /data\.txt: Operation not permitted/);
    const refused = daemon.events('follow').find((e) => e.action === 'Refused');
    assert.match(String((refused?.diagnostics as string[])[0]), /p\.cedar:\d+:\d+: error/);
  });

  it('ends the sandbox when leashd is killed, so nothing runs unguarded', async () => {
    const own = new TestDaemon();
    await own.start();
    const ws = makeWorkspace();
    const run = own.cliAsync([
      'run',
      '--name',
      'orphan',
      '--policy',
      POLICY,
      '--workspace',
      ws,
      'shell',
      '--',
      'sleep',
      '600',
    ]);
    const label = `dev.leash.daemon=${own.socket}`;
    await waitFor('the container', () => dockerContainers(label).length === 1);
    own.process?.kill('SIGKILL');
    await waitFor('the container to stop', () => !sandboxRunning(label));
    run.kill('SIGTERM');
    await run.done;
    // A new leashd on the same socket removes what the dead one left.
    const again = new TestDaemon();
    Object.assign(again, { socket: own.socket, stateDir: own.stateDir });
    await again.start();
    await waitFor('the leftover to be removed', () => dockerContainers(label).length === 0);
    await again.stop();
    await own.stop();
  });

  it('runs the demo: the workspace write is allowed and the four attempts are denied', () => {
    const r = daemon.cli(['demo']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ALLOWED +write a workspace file/);
    for (const step of [
      'write a system file',
      'write a git hook',
      'read a planted secret',
      'connect to',
    ]) {
      assert.match(r.stdout, new RegExp(`DENIED +${step}.*Operation not permitted`));
    }
    assert.match(r.stdout, /DENY +WriteFile +\/etc\/leash-demo +default deny/);
    assert.match(r.stdout, /DENY +ReadFile +\S+\/\.env +env-files/);
    assert.match(r.stdout, /DENY +Connect +\S+:8080 +default deny/);
    assert.match(r.stdout, /ALLOW +WriteFile +\S+\/notes\.txt/);
  });
});
