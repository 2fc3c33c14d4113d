/** Exec narrowing in a real session: programs by path (EPERM), arguments in the kernel (killed,
 *  status 137), every decision in the audit log with its argv. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon, waitFor } from '../support/leashd';
import { WORKSPACE_RW_NO_EXEC } from '../support/policies';

const BASE = WORKSPACE_RW_NO_EXEC;

const EXEC_POLICIES = `
@id("exec-system")
permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"/usr");

@id("exec-workspace")
permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"@workspace");

@id("no-env")
forbid (principal, action == Leash::Action::"Exec", resource == Leash::File::"/usr/bin/env");

@id("no-force")
forbid (principal, action == Leash::Action::"Exec", resource)
when { context.argv.contains("--force") };

@id("no-rm-rf")
forbid (principal, action == Leash::Action::"Exec", resource)
when { context.args like "-rf *" };
`;

describe('exec narrowing', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('refuses programs by path with EPERM and kills argument violators before they run', () => {
    const ws = makeWorkspace({ 'hello.sh': '#!/bin/sh\necho hello from script\n' });
    fs.chmodSync(path.join(ws, 'hello.sh'), 0o755);
    fs.copyFileSync('/bin/true', path.join(ws, 'mytrue'));
    fs.chmodSync(path.join(ws, 'mytrue'), 0o755);
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, BASE + EXEC_POLICIES);
    const script = [
      '/usr/bin/env true; echo "env=$?"',
      '/usr/bin/echo plain; echo "echo=$?"',
      '/usr/bin/true --force; echo "force=$?"',
      '/usr/bin/echo -rf x; echo "rmrf=$?"',
      `${ws}/hello.sh --force; echo "script-force=$?"`,
      `${ws}/hello.sh; echo "script=$?"`,
      `${ws}/mytrue --force; echo "copy=$?"`,
      `/lib64/ld-linux-x86-64.so.2 /usr/bin/true; echo "loader=$?"`,
    ].join('\n');
    const r = daemon.cli([
      ...['run', '--json', '--policy', policy, '--workspace', ws],
      ...['shell', '--', 'sh', '-c', script],
    ]);
    assert.match(r.stdout, /^env=126$/m, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /env: Operation not permitted|env: Permission denied/);
    assert.match(r.stdout, /^plain\necho=0$/m);
    assert.match(r.stdout, /^force=137$/m);
    assert.match(r.stdout, /^rmrf=137$/m);
    assert.doesNotMatch(r.stdout, /^-rf x$/m);
    assert.match(r.stdout, /^hello from script\nscript=0$/m);
    assert.match(r.stdout, /^script-force=137$/m);
    assert.match(r.stdout, /^copy=137$/m);
    assert.match(r.stdout, /^loader=137$/m);

    const events = daemon.events(sessionOf(r.stderr)).filter((e) => e.kind === 'exec');
    const env = events.find((e) => e.resource === '/usr/bin/env');
    assert.equal(env?.decision, 'deny');
    assert.deepEqual(env?.policies, ['no-env']);
    assert.deepEqual(env?.argv, ['true']);
    const force = events.find((e) => (e.argv as string[] | undefined)?.includes('--force'));
    assert.equal(force?.decision, 'deny');
    assert.equal(force?.resource, '/usr/bin/true');
    assert.deepEqual(force?.policies, ['no-force']);
    const scriptForce = events.find(
      (e) => e.resource === `${ws}/hello.sh` && e.decision === 'deny',
    );
    assert.deepEqual(scriptForce?.argv, [`${ws}/hello.sh`, '--force']);
    assert.equal(scriptForce?.interpreter, '/usr/bin/dash');
    assert.deepEqual(scriptForce?.policies, ['no-force']);
    const rmrf = events.find((e) => e.decision === 'deny' && e.resource === '/usr/bin/echo');
    assert.deepEqual(rmrf?.argv, ['-rf', 'x']);
    assert.deepEqual(rmrf?.policies, ['no-rm-rf']);
    // The session command, exec'd by leash-launch in the same process, is named right.
    const shell = events.find((e) => (e.argv as string[] | undefined)?.[0] === '-c');
    assert.equal(shell?.resource, '/usr/bin/dash');
    assert.equal(events.filter((e) => e.resource === 'unknown program').length, 0);
    const plain = events.find((e) => e.decision === 'allow' && e.resource === '/usr/bin/echo');
    assert.deepEqual(plain?.policies, ['exec-system']);
  });

  it('in shadow mode runs what Exec rules deny and logs it as would-deny', () => {
    const ws = makeWorkspace();
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, BASE + EXEC_POLICIES);
    const r = daemon.cli([
      ...['run', '--json', '--mode', 'shadow', '--policy', policy, '--workspace', ws],
      ...[
        'shell',
        '--',
        'sh',
        '-c',
        '/usr/bin/true --force; echo "force=$?"; /usr/bin/env true; echo "env=$?"',
      ],
    ]);
    assert.match(r.stdout, /^force=0\nenv=0$/m, r.stderr);
    const events = daemon.events(sessionOf(r.stderr)).filter((e) => e.kind === 'exec');
    const force = events.find((e) => (e.argv as string[] | undefined)?.includes('--force'));
    assert.equal(force?.decision, 'would-deny');
    assert.deepEqual(force?.policies, ['no-force']);
    const env = events.find((e) => e.resource === '/usr/bin/env');
    assert.equal(env?.decision, 'would-deny');
    assert.deepEqual(env?.policies, ['no-env']);
  });

  it('applies a new policy to a running session: the next exec gets the new verdict', async () => {
    const ws = makeWorkspace();
    const loose = path.join(ws, 'loose.cedar');
    const strict = path.join(ws, 'strict.cedar');
    fs.writeFileSync(loose, BASE + EXEC_POLICIES.replace(/@id\("no-force"\)[^@]*/, ''));
    fs.writeFileSync(strict, BASE + EXEC_POLICIES);
    const script =
      '/usr/bin/true --force; echo "before=$?"; ' +
      `/usr/bin/touch ${ws}/ran; while [ ! -e ${ws}/go ]; do /usr/bin/sleep 0.1; done; ` +
      '/usr/bin/true --force; echo "after=$?"';
    const run = daemon.cliAsync([
      ...['run', '--name', 'exec-reload', '--policy', loose, '--workspace', ws],
      ...['shell', '--', 'sh', '-c', script],
    ]);
    // The first exec has run under the loose policy before the strict one is applied.
    await waitFor('the first exec', () => fs.existsSync(path.join(ws, 'ran')), 60_000);
    const applied = daemon.cli(['policy', 'apply', '--session', 'exec-reload', strict]);
    assert.equal(applied.status, 0, applied.stderr);
    fs.writeFileSync(path.join(ws, 'go'), '');
    const r = await run.done;
    assert.match(r.stdout, /^before=0$/m, r.stderr);
    assert.match(r.stdout, /^after=137$/m, r.stderr);
  });

  it('starts sessions under a policy that forbids every program outside /usr', () => {
    const ws = makeWorkspace();
    fs.copyFileSync('/bin/true', path.join(ws, 'mytrue'));
    fs.chmodSync(path.join(ws, 'mytrue'), 0o755);
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(
      policy,
      BASE +
        '\n@id("exec-any")\npermit (principal, action == Leash::Action::"Exec", resource);\n' +
        '\n@id("only-usr")\nforbid (principal, action == Leash::Action::"Exec", resource)\n' +
        'unless { resource in Leash::Dir::"/usr" };\n',
    );
    const r = daemon.cli([
      ...['run', '--policy', policy, '--workspace', ws, 'shell', '--'],
      ...['sh', '-c', `/usr/bin/true; echo "usr=$?"; ${ws}/mytrue; echo "ws=$?"`],
    ]);
    assert.match(r.stdout, /^usr=0\nws=126$/m, r.stderr);
  });

  it('refuses a policy whose Exec rules exceed what the kernel can enforce', () => {
    const ws = makeWorkspace();
    const policy = path.join(ws, 'p.cedar');
    const values = Array.from({ length: 9 }, (_, i) => `"v${i}"`).join(', ');
    fs.writeFileSync(
      policy,
      BASE +
        EXEC_POLICIES +
        `\n@id("too-wide")\nforbid (principal, action == Leash::Action::"Exec", resource)\n` +
        `when { context.argv.containsAny([${values}]) };\n`,
    );
    const r = daemon.cli(['run', '--policy', policy, '--workspace', ws, 'shell', '--', 'true']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /policy too-wide: containsAny of 9 values exceeds the kernel's 8/);
  });
});
