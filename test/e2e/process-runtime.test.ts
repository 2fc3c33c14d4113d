/**
 * `leash run --runtime process` end to end: a real leashd, a sandbox without an image or a
 * container engine, real kernel enforcement (docs/runtimes.md).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chownTree, processSandboxSkip, SANDBOX_UID } from '../support/process-runtime';
import { makeWorkspace, sessionOf, TestDaemon, waitFor } from '../support/leashd';
import { WORKSPACE_RW_FILE } from '../support/policies';
import { probeKernel } from '@leash/bpf';

/** A workspace the sandbox user owns, as the process runtime requires. */
function ownedWorkspace(files: Record<string, string> = {}): string {
  const ws = makeWorkspace(files);
  chownTree(ws, SANDBOX_UID);
  return ws;
}

describe('the process runtime', { skip: processSandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  const run = (ws: string, script: string, opts: { input?: string; policy?: string } = {}) =>
    daemon.cli(
      [
        ...['run', '--json', '--runtime', 'process', '--workspace', ws],
        ...(opts.policy ? ['--policy', opts.policy] : []),
        ...['shell', '--', 'sh', '-c', script],
      ],
      { input: opts.input ?? '' },
    );

  it('reads and writes the workspace at its own path, and the file lands on the host', () => {
    const ws = ownedWorkspace({ 'README.md': 'hello\n' });
    const r = run(ws, `pwd; cat README.md; echo x > ${ws}/notes.txt`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${ws}\nhello\n`);
    assert.equal(fs.readFileSync(path.join(ws, 'notes.txt'), 'utf8'), 'x\n');
    assert.equal(fs.statSync(path.join(ws, 'notes.txt')).uid, SANDBOX_UID);
  });

  it('runs as the workspace owner, without capabilities and with no_new_privs', () => {
    const ws = ownedWorkspace();
    const r = run(
      ws,
      'id -u; id -G; grep -E "^(CapEff|CapPrm|CapAmb|NoNewPrivs):" /proc/self/status',
    );
    assert.equal(r.status, 0, r.stderr);
    const [uid, groups, ...status] = r.stdout.trim().split('\n');
    assert.equal(uid, String(SANDBOX_UID));
    assert.equal(groups, String(SANDBOX_UID), 'no supplementary groups (no leash group)');
    assert.deepEqual(
      status.map((l) => l.replace(/\s+/g, ' ')),
      [
        'CapPrm: 0000000000000000',
        'CapEff: 0000000000000000',
        'CapAmb: 0000000000000000',
        'NoNewPrivs: 1',
      ],
    );
  });

  it('is denied system writes the policy does not permit, and logs what Leash refused', () => {
    const ws = ownedWorkspace();
    const r = run(
      ws,
      [
        'echo x > /tmp/leash-test || echo tmp-denied',
        'echo x > /etc/leash-test || echo etc-denied',
        'echo x > /usr/leash-test || echo usr-denied',
      ].join('; '),
      { policy: WORKSPACE_RW_FILE },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['tmp-denied', 'etc-denied', 'usr-denied']);
    assert.match(r.stderr, /\/tmp\/leash-test: Operation not permitted/);
    // The host's system directories are read-only binds: the kernel refuses before Leash is
    // asked (docs/runtimes.md).
    assert.match(r.stderr, /\/etc\/leash-test: Read-only file system/);
    const denial = daemon.events(sessionOf(r.stderr)).find((e) => e.resource === '/tmp/leash-test');
    assert.ok(denial, 'the /tmp denial is in the audit log');
    assert.equal(denial.decision, 'deny');
    assert.equal(denial.action, 'WriteFile');
    assert.deepEqual(denial.policies, []);
  });

  it('keeps the default policy: .env files and git hooks are denied and logged by policy', () => {
    const ws = ownedWorkspace({ '.env': 'KEY=secret\n', '.git/hooks/.keep': '' });
    const r = run(ws, 'cat .env; echo x > .git/hooks/pre-commit; echo done');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'done\n');
    assert.match(r.stderr, /\.env: Operation not permitted/);
    assert.match(r.stderr, /pre-commit: Operation not permitted/);
    const events = daemon.events(sessionOf(r.stderr)).filter((e) => e.decision === 'deny');
    const by = (p: string) => events.find((e) => e.resource === path.join(ws, p));
    assert.deepEqual(by('.env')?.policies, ['env-files']);
    assert.equal(by('.env')?.action, 'ReadFile');
    assert.deepEqual(by('.git/hooks/pre-commit')?.policies, ['workspace-protected']);
  });

  it('enforces with the backend the kernel offers, named by helper status and the session', (t) => {
    const expected = probeKernel().backend;
    const status = daemon.cli(['helper', 'status']);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^backend: ${expected} `, 'm'));
    const ws = ownedWorkspace({ '.env': 'KEY=secret\n' });
    // On lsm the fanotify group marks execs only: this denial is the lsm hooks'.
    const r = run(ws, 'cat .env; echo done');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'done\n');
    assert.match(r.stderr, /\.env: Operation not permitted/);
    const events = daemon.events(sessionOf(r.stderr));
    const start = events.find((e) => e.kind === 'session' && e.action === 'Start');
    assert.equal(start?.backend, expected);
    const denial = events.find((e) => e.resource === path.join(ws, '.env'));
    assert.equal(denial?.decision, 'deny');
    assert.deepEqual(denial?.policies, ['env-files']);
    // The session's pins (lsm hooks on lsm) went with it.
    const left = fs.readdirSync('/sys/fs/bpf/leash', { recursive: true, encoding: 'utf8' });
    assert.deepEqual(
      left.filter((p) => p.includes(sessionOf(r.stderr))),
      [],
    );
    t.diagnostic(`backend: ${expected}`);
  });

  it("cannot see leashd's socket, state, settings or BPF pins, and .leash/ is read-only", () => {
    const ws = ownedWorkspace();
    const hidden = [daemon.socket, daemon.stateDir, '/run/leash', '/var/lib/leash'];
    const r = run(
      ws,
      [
        ...hidden.map((p) => `test -e '${p}' && echo "visible ${p}"`),
        'ls -A /etc/leash 2>/dev/null | sed "s/^/etc-leash: /"',
        'ls -A /sys/fs/bpf 2>/dev/null | sed "s/^/pin: /"',
        'touch .leash/policy.cedar || echo leash-dir-read-only',
        'true',
      ].join('; '),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'leash-dir-read-only\n');
  });

  it("marks the sandbox's own mounts only: the host reads what the sandbox is denied", async () => {
    const ws = ownedWorkspace({ 'secret.txt': 'host only\n' });
    const policy = path.join(ws, 'p.cedar');
    const forbid = [
      '@id("no-secret")',
      'forbid (principal, action == Leash::Action::"ReadFile",',
      `  resource == Leash::File::"${ws}/secret.txt");`,
    ];
    fs.writeFileSync(policy, `${fs.readFileSync(WORKSPACE_RW_FILE, 'utf8')}${forbid.join('\n')}\n`);
    chownTree(ws, SANDBOX_UID);
    const child = daemon.cliAsync([
      ...['run', '--name', 'marks', '--runtime', 'process', '--workspace', ws, '--policy', policy],
      ...['shell', '--', 'sh', '-c', 'cat secret.txt || echo denied > denied; sleep 300'],
    ]);
    try {
      await waitFor('the denial inside', () => fs.existsSync(path.join(ws, 'denied')));
      // While the session runs, the same file on the host's mount opens without a question.
      assert.equal(fs.readFileSync(path.join(ws, 'secret.txt'), 'utf8'), 'host only\n');
    } finally {
      child.kill('SIGINT');
      await child.done;
    }
  });

  it('cannot make a copy of its mounts, mount, or give a protected file another name', () => {
    const ws = ownedWorkspace({ '.env': 'KEY=secret\n' });
    const r = run(
      ws,
      [
        'unshare -Urm cat .env || echo no-user-namespace',
        'unshare -m true || echo no-mount-namespace',
        'ln .env alias || echo no-hard-link',
        'mount -t tmpfs none /tmp || echo no-mount',
        'grep Seccomp_filters /proc/self/status',
      ].join('; '),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'no-user-namespace',
      'no-mount-namespace',
      'no-hard-link',
      'no-mount',
      // The containers' profile and leash-launch's own filter.
      'Seccomp_filters:\t2',
    ]);
    assert.equal(fs.existsSync(path.join(ws, 'alias')), false);
  });

  it('has its own PID, network, mount, IPC, UTS and cgroup namespaces', () => {
    const ws = ownedWorkspace();
    const kinds = ['pid', 'net', 'mnt', 'ipc', 'uts', 'cgroup'];
    const r = run(
      ws,
      [
        ...kinds.map((k) => `readlink /proc/self/ns/${k}`),
        'ls /proc | grep -c "^[0-9]"',
        'cat /proc/sys/net/ipv4/ping_group_range',
        'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "',
      ].join('; '),
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    kinds.forEach((k, i) => {
      assert.notEqual(lines[i], fs.readlinkSync(`/proc/self/ns/${k}`), `own ${k} namespace`);
    });
    assert.ok(Number(lines[kinds.length]) < 10, `few processes visible: ${lines[kinds.length]}`);
    assert.equal(lines[kinds.length + 1], '1\t0', 'no ICMP datagram sockets for anyone');
    assert.deepEqual(lines.slice(kinds.length + 2), ['lo'], 'loopback is its only interface');
  });

  it('passes stdin through and exits with the command’s exit code', () => {
    const ws = ownedWorkspace();
    const r = run(ws, 'tr a-z A-Z; exit 7', { input: 'piped in\n' });
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stdout, 'PIPED IN\n');
  });

  it('ends the sandbox, every process of it, when the client is interrupted (Ctrl-C)', async () => {
    const ws = ownedWorkspace();
    const child = daemon.cliAsync([
      ...['run', '--name', 'interrupted', '--runtime', 'process', '--workspace', ws],
      ...['shell', '--', 'sh', '-c', 'echo started > started; sleep 300 & sleep 300'],
    ]);
    await waitFor('the command to start', () => fs.existsSync(path.join(ws, 'started')));
    const cgroup = sessionCgroup(daemon.log, 'interrupted');
    assert.ok(!cgroupEmpty(cgroup), 'the command runs in the session cgroup');
    child.kill('SIGINT');
    const r = await child.done;
    assert.notEqual(r.status, 0);
    await waitFor('the sandbox to end', () => cgroupEmpty(cgroup));
    await waitFor('its cgroup to go', () => !fs.existsSync(cgroup));
  });

  it('passes a terminal through: input, output, Ctrl-C to the command, its exit code', async () => {
    const ws = ownedWorkspace();
    const cli = `node ${['helper/bin/leash', '--socket', daemon.socket].join(' ')}`;
    const script = [
      'read l; echo "got $l"',
      'test -t 0 || exit 1',
      'trap "echo interrupted; exit 5" INT',
      'echo waiting; while :; do sleep 0.1; done',
    ].join('; ');
    const command = `${cli} run --runtime process --workspace ${ws} shell -- sh -c '${script}'`;
    const term = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
      cwd: path.resolve(__dirname, '..', '..', '..'),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    term.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => term.on('exit', (c) => r(c)));
    await waitFor('the session line', () => out.includes('leash: session'));
    await new Promise((r) => setTimeout(r, 1000));
    term.stdin.write('typed\r');
    await waitFor('the command to wait', () => out.includes('waiting'));
    term.stdin.write('\x03');
    const code = await exited;
    assert.match(out, /got typed/);
    assert.match(out, /interrupted/);
    assert.equal(code, 5, out);
  });

  it('runs `leash exec` commands in it, a further principal in a cgroup of its own', async () => {
    const ws = ownedWorkspace();
    const child = daemon.cliAsync([
      ...['run', '--name', 'execd', '--runtime', 'process', '--workspace', ws],
      ...['shell', '--', 'sh', '-c', 'echo started > started; sleep 300'],
    ]);
    try {
      await waitFor('the command to start', () => fs.existsSync(path.join(ws, 'started')));
      const probe = 'id -u; tail -1 /proc/self/cgroup; readlink /proc/self/ns/pid; cat started';
      const agent = daemon.cli(['exec', 'execd', '--', 'sh', '-c', probe]);
      const other = daemon.cli([
        'exec',
        'execd',
        '--principal',
        'reviewer',
        '--',
        'sh',
        '-c',
        probe,
      ]);
      assert.equal(agent.status, 0, agent.stderr);
      assert.equal(other.status, 0, other.stderr);
      const [agentUid, agentCgroup, agentPidNs, agentSaw] = agent.stdout.trim().split('\n');
      const [otherUid, otherCgroup, otherPidNs, otherSaw] = other.stdout.trim().split('\n');
      assert.deepEqual([agentUid, otherUid], [String(SANDBOX_UID), String(SANDBOX_UID)]);
      assert.equal(agentCgroup, '0::/', 'the agent runs at the root of its cgroup namespace');
      assert.match(otherCgroup ?? '', /^0::\/.+reviewer/, 'the further principal in a leaf');
      assert.equal(agentPidNs, otherPidNs, 'both in the sandbox');
      assert.deepEqual([agentSaw, otherSaw], ['started', 'started']);
    } finally {
      child.kill('SIGINT');
      await child.done;
    }
  });

  it('needs no container engine; without one, docker sessions are refused with why', async () => {
    const own = new TestDaemon(['--docker-socket', path.join(daemon.dir, 'no-engine.sock')]);
    await own.start();
    try {
      const ws = ownedWorkspace();
      const bare = own.cli([
        'run',
        '--runtime',
        'process',
        '--workspace',
        ws,
        'shell',
        '--',
        'true',
      ]);
      assert.equal(bare.status, 0, bare.stderr);
      const docker = own.cli(['run', '--workspace', ws, 'shell', '--', 'true']);
      assert.notEqual(docker.status, 0);
      assert.match(
        docker.stderr,
        /no Docker engine answers .*; or run the session with --runtime process/,
      );
    } finally {
      await own.stop();
    }
  });

  it('says what it does not honour: a devcontainer.json, an agent that needs its API', () => {
    const ws = ownedWorkspace({ '.devcontainer/devcontainer.json': '{ "image": "debian" }' });
    const r = daemon.cli(['run', '--runtime', 'process', '--workspace', ws, 'shell', '--', 'true']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /leash: not honoured: .*devcontainer\.json: the process runtime runs the host's programs/,
    );
  });

  it('refuses a workspace that belongs to root, saying what to do', () => {
    const ws = makeWorkspace();
    const r = run(ws, 'true');
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /runs the agent as the owner of the workspace.*belongs to root.*chown -R/,
    );
  });

  it('ends the sandbox when leashd dies, so nothing runs unjudged', async () => {
    const own = new TestDaemon();
    await own.start();
    try {
      const ws = ownedWorkspace();
      const child = own.cliAsync([
        ...['run', '--name', 'orphaned', '--runtime', 'process', '--workspace', ws],
        ...['shell', '--', 'sh', '-c', 'echo started > started; sleep 300'],
      ]);
      await waitFor('the command to start', () => fs.existsSync(path.join(ws, 'started')));
      const cgroup = sessionCgroup(own.log, 'orphaned');
      assert.ok(!cgroupEmpty(cgroup), 'the command runs in the session cgroup');
      own.process?.kill('SIGKILL');
      await waitFor('the sandbox to end', () => cgroupEmpty(cgroup));
      child.kill('SIGKILL');
    } finally {
      await own.stop();
    }
  });
});

function cgroupEmpty(dir: string): boolean {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() === '';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** The session's cgroup, from leashd's `session started` log line. */
function sessionCgroup(log: string, session: string): string {
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { session?: string; msg?: string; cgroup?: string };
    if (entry.session === session && entry.msg === 'session started' && entry.cgroup) {
      return entry.cgroup;
    }
  }
  throw new Error(`leashd logged no start of session ${session}:\n${log}`);
}
