/**
 * Escape attempts found by attacking the sandbox, each kept as a test: the attacker program
 * runs inside a real session under the default policy, and the test asserts the operation
 * failed and nothing outside changed.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';

describe('escape attempts', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  /** Runs a shell script in a session on the default policy; returns output and events. */
  function attempt(ws: string, script: string, policy?: string) {
    const args = ['run', '--json', '--workspace', ws];
    if (policy) args.push('--policy', policy);
    const r = daemon.cli([...args, 'shell', '--', 'bash', '-c', script]);
    return { ...r, events: daemon.events(sessionOf(r.stderr)) };
  }

  it('reads nothing through openat2, whose flags the answerer cannot trust', () => {
    const ws = makeWorkspace({ '.env': 'SECRET=1\n' });
    const perl = `perl -e 'my ($p, $how) = ("${ws}/.env", pack("QQQ", 0, 0, 0)); my $fd = syscall(437, -100, $p, $how, 24); print $fd < 0 ? "refused: $!\\n" : "opened\\n"'`;
    const r = attempt(ws, perl);
    assert.match(r.stdout, /^refused: Operation not permitted$/m);
    const e = r.events.find((x) => x.resource === `${ws}/.env`);
    assert.equal(e?.decision, 'deny');
    assert.equal(e?.access, 'readwrite');
  });

  it('cannot use io_uring, 32-bit syscalls, ptrace or new hard links', () => {
    const ws = makeWorkspace({ '.env': 'SECRET=1\n' });
    const script = [
      `perl -e 'my $params = pack("x120"); print syscall(425, 8, $params) < 0 ? "io_uring: $!\\n" : "io_uring ok\\n"'`,
      `perl -e 'print syscall(101, 16, 1, 0, 0) < 0 ? "ptrace: $!\\n" : "ptrace ok\\n"'`,
      `ln ${ws}/.env ${ws}/other-name 2>&1 | sed 's/.*: /ln: /'`,
    ].join('; ');
    const r = attempt(ws, script);
    assert.match(r.stdout, /^io_uring: Operation not permitted$/m);
    assert.match(r.stdout, /^ptrace: Operation not permitted$/m);
    assert.match(r.stdout, /^ln: Operation not permitted$/m);
    assert.equal(fs.existsSync(path.join(ws, 'other-name')), false);
  });

  it('cannot change its own policy file when it lies in the workspace', () => {
    const ws = makeWorkspace();
    const policy = path.join(ws, 'my.cedar');
    const original = fs.readFileSync(
      path.resolve(__dirname, '..', '..', 'fixtures', 'workspace-rw.cedar'),
      'utf8',
    );
    fs.writeFileSync(policy, original);
    const r = attempt(ws, `echo '// widened' >> ${policy}`, policy);
    assert.match(r.stderr, /my\.cedar: Operation not permitted/);
    assert.equal(fs.readFileSync(policy, 'utf8'), original);
    const e = r.events.find((x) => x.resource === policy);
    assert.deepEqual(e?.policies, ['leash:builtin/policy-file']);
  });

  it('treats an open with access mode 3 as read and write', () => {
    const ws = makeWorkspace({ '.env': 'SECRET=1\n' });
    const r = attempt(
      ws,
      `perl -e 'use Fcntl; sysopen(my $f, "${ws}/.env", 3) or print "refused: $!\\n"'`,
    );
    assert.match(r.stdout, /^refused: Operation not permitted$/m);
  });
});
