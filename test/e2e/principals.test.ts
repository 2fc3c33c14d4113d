/** Principals: `leash exec --principal` runs a further process of a running session in a cgroup
 *  of its own, and the same file, program and connect get each principal's own verdict. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, TestDaemon, waitFor } from '../support/leashd';
import { WORKSPACE_RW_NO_EXEC } from '../support/policies';

/** `shell` is the session's agent; `reviewer` is started with `leash exec --principal`. */
const PRINCIPAL_POLICIES = `
@id("exec-system")
permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"/usr");

@id("agent-no-id")
forbid (
  principal == Leash::Agent::"shell",
  action == Leash::Action::"Exec",
  resource == Leash::File::"/usr/bin/id"
);

@id("agent-no-secret")
forbid (
  principal == Leash::Agent::"shell",
  action == Leash::Action::"ReadFile",
  resource in Leash::Dir::"@workspace/secret.txt"
);

@id("reviewer-read-only")
forbid (
  principal == Leash::Agent::"reviewer",
  action == Leash::Action::"WriteFile",
  resource in Leash::Dir::"@workspace"
);

@id("reviewer-loopback")
permit (principal == Leash::Agent::"reviewer", action == Leash::Action::"Connect", resource)
when { resource.ip.isLoopback() };
`;

/** The same four operations for either principal, one `name=status` line each. */
function probes(ws: string): string {
  return [
    `cat ${ws}/secret.txt >/dev/null; echo "read=$?"`,
    `echo more >> ${ws}/notes.txt; echo "write=$?"`,
    `/usr/bin/id >/dev/null; echo "exec=$?"`,
    // Nothing listens on port 9: an allowed connect is refused by the peer, a denied one EPERM.
    `bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>&1 | grep -o 'Operation not permitted\\|Connection refused'`,
    // Its cgroup (as the sandbox's private cgroup namespace shows it), and no way out of it.
    `grep '^0::' /proc/self/cgroup`,
    `for f in $(find /sys/fs/cgroup -name cgroup.procs 2>/dev/null); do echo $$ 2>/dev/null > "$f" && echo "moved to $f"; done; true`,
  ].join('\n');
}

describe('principals', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('gives two principals in one sandbox different verdicts and names each in the audit log', async () => {
    const ws = makeWorkspace({ 'secret.txt': 'secret\n', 'notes.txt': 'notes\n' });
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, WORKSPACE_RW_NO_EXEC + PRINCIPAL_POLICIES);
    const go = path.join(ws, 'go');
    const agent = daemon.cliAsync([
      ...['run', '--name', 'pair', '--policy', policy, '--workspace', ws],
      ...['shell', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done\n${probes(ws)}`],
    ]);
    await daemon.waitForSession('pair');

    const reviewer = daemon.cli([
      ...['exec', 'pair', '--principal', 'reviewer', '--'],
      ...['sh', '-c', probes(ws)],
    ]);
    assert.equal(reviewer.status, 0, reviewer.stderr);
    const sessions = daemon.cli(['sessions', '--json']).stdout;
    fs.writeFileSync(go, '');
    const r = await agent.done;

    assert.match(reviewer.stdout, /^read=0$/m, reviewer.stdout + reviewer.stderr);
    assert.match(reviewer.stdout, /^write=[12]$/m);
    assert.match(reviewer.stdout, /^exec=0$/m);
    assert.match(reviewer.stdout, /^Connection refused$/m);
    assert.match(reviewer.stdout, /^0::\/leash-principal\.reviewer$/m);
    assert.match(r.stdout, /^read=1$/m, r.stdout + r.stderr);
    assert.match(r.stdout, /^write=0$/m);
    assert.match(r.stdout, /^exec=126$/m);
    assert.match(r.stdout, /^Operation not permitted$/m);
    assert.match(r.stdout, /^0::\/$/m);
    assert.doesNotMatch(reviewer.stdout + r.stdout, /moved to/);
    assert.equal(fs.readFileSync(path.join(ws, 'notes.txt'), 'utf8'), 'notes\nmore\n');
    assert.match(sessions, /"reviewer"/);

    const events = daemon.events('pair');
    const secret = events.filter((e) => e.resource === `${ws}/secret.txt`);
    assert.deepEqual(secret.map((e) => `${e.principal as string} ${e.decision as string}`).sort(), [
      'reviewer allow',
      'shell deny',
    ]);
    assert.deepEqual(secret.find((e) => e.principal === 'shell')?.policies, ['agent-no-secret']);
    const notes = events.find((e) => e.resource === `${ws}/notes.txt` && e.decision === 'deny');
    assert.equal(notes?.principal, 'reviewer');
    assert.deepEqual(notes?.policies, ['reviewer-read-only']);
    const id = events.filter((e) => e.kind === 'exec' && e.resource === '/usr/bin/id');
    assert.deepEqual(id.map((e) => `${e.principal as string} ${e.decision as string}`).sort(), [
      'reviewer allow',
      'shell deny',
    ]);
    const connects = events.filter((e) => e.kind === 'net' && e.resource === '127.0.0.1:9');
    assert.deepEqual(
      connects.map((e) => `${e.principal as string} ${e.decision as string}`).sort(),
      ['reviewer allow', 'shell deny'],
    );
  });

  it("applies a reloaded policy and a mode change to every principal's next operation", async () => {
    const ws = makeWorkspace({ 'secret.txt': 'secret\n' });
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, WORKSPACE_RW_NO_EXEC + PRINCIPAL_POLICIES);
    const go = path.join(ws, 'go');
    const agent = daemon.cliAsync([
      ...['run', '--name', 'switch', '--policy', policy, '--workspace', ws],
      ...['shell', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done`],
    ]);
    await daemon.waitForSession('switch');
    const read = () =>
      daemon.cli(['exec', 'switch', '--principal', 'reviewer', '--', 'cat', `${ws}/secret.txt`]);
    assert.equal(read().status, 0);

    const stricter = path.join(ws, 'stricter.cedar');
    fs.writeFileSync(
      stricter,
      fs.readFileSync(policy, 'utf8') +
        '\n@id("reviewer-no-secret")\nforbid (principal == Leash::Agent::"reviewer", ' +
        'action == Leash::Action::"ReadFile", resource in Leash::Dir::"@workspace/secret.txt");\n',
    );
    const applied = daemon.cli(['policy', 'apply', '--session', 'switch', stricter]);
    assert.equal(applied.status, 0, applied.stderr);
    const denied = read();
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /Operation not permitted/);

    assert.equal(daemon.cli(['mode', 'switch', 'shadow']).status, 0);
    assert.equal(read().status, 0);
    fs.writeFileSync(go, '');
    await agent.done;

    const verdicts = daemon
      .events('switch')
      .filter((e) => e.principal === 'reviewer' && e.resource === `${ws}/secret.txt`)
      .map((e) => `${e.decision as string} ${(e.policies as string[]).join(',')}`);
    assert.deepEqual(verdicts, [
      'allow system-read,workspace-rw',
      'deny reviewer-no-secret',
      'would-deny reviewer-no-secret',
    ]);
  });

  it('refuses a principal name that is not one and a session that does not exist', async () => {
    const ws = makeWorkspace();
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, WORKSPACE_RW_NO_EXEC + PRINCIPAL_POLICIES);
    const go = path.join(ws, 'go');
    const agent = daemon.cliAsync([
      ...['run', '--name', 'names', '--policy', policy, '--workspace', ws],
      ...['shell', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done`],
    ]);
    await daemon.waitForSession('names');
    await waitFor('session names running', () =>
      daemon.cli(['sessions', '--json']).stdout.includes('"running"'),
    );

    const bad = daemon.cli(['exec', 'names', '--principal', '../x', '--', 'true']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /principal name "\.\.\/x" is not valid/);
    const reserved = daemon.cli(['exec', 'names', '--principal', 'mcp:fs', '--', 'true']);
    assert.notEqual(reserved.status, 0);
    assert.match(reserved.stderr, /principal name mcp:fs is reserved/);
    // Without --principal, the command runs as the session's agent, with the agent's verdicts.
    fs.writeFileSync(path.join(ws, 'secret.txt'), 'secret\n');
    const asAgent = daemon.cli(['exec', 'names', '--', 'cat', path.join(ws, 'secret.txt')]);
    assert.equal(asAgent.status, 1);
    assert.match(asAgent.stderr, /secret\.txt: Operation not permitted/);
    const missing = daemon.cli(['exec', 'nosuch', '--', 'true']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /no session named nosuch/);
    fs.writeFileSync(go, '');
    await agent.done;
  });
});
