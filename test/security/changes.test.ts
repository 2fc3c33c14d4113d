/**
 * Changes that are not opens (rename, unlink, rmdir, truncate by path, mkdir, mknod,
 * symlink), made inside real sessions under the default policy: the supervisor judges each
 * changed path as `WriteFile` and makes the change itself, so a protected path can be neither
 * replaced, removed, truncated nor moved away, and ordinary work still works.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { dockerContainers, makeWorkspace, sessionOf, sleep, TestDaemon } from '../support/leashd';

const DAEMON_LABEL = 'dev.leash.daemon';

const PROTECTED = {
  '.git/hooks/pre-commit': '#!/bin/sh\nexit 0\n',
  '.git/config': '[core]\n\tbare = false\n',
  'src/main.c': 'int main(void) { return 0; }\n',
};

/** Every file under `dir` with its content, for comparing a workspace before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else out[child] = fs.readFileSync(path.join(dir, child), 'utf8');
    }
  };
  walk('.');
  return out;
}

/** `CMD 2>&1 | sed` keeps only the error text of a failing command. */
const errorOf = (cmd: string): string => `${cmd} 2>&1 | sed 's/.*: //'`;

describe('changes that are not opens', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  const run = (ws: string, script: string) => daemon.script(ws, script);

  function denials(events: Record<string, unknown>[]): Record<string, unknown>[] {
    return events.filter((e) => e.kind === 'file' && e.decision === 'deny');
  }

  it('refuses replacing, moving away and truncating protected workspace files', () => {
    const ws = makeWorkspace(PROTECTED);
    const before = snapshot(ws);
    const r = run(
      ws,
      [
        `cd ${ws}`,
        errorOf(`echo evil > h; mv -f h ${ws}/.git/hooks/pre-commit`),
        errorOf(`mv ${ws}/.git/hooks ${ws}/.git/hooks.old`),
        `perl -e 'truncate("${ws}/.git/config", 0) or print "$!\\n"'`,
        errorOf(`rm -f ${ws}/.git/hooks/pre-commit`),
        errorOf(`ln -s /tmp/evil ${ws}/.git/hooks/post-checkout`),
        errorOf(`mkdir ${ws}/.vscode`),
        errorOf(`exec 8< ${ws}/.git/hooks; mv h /proc/self/fd/8/pre-commit`),
        'rm -f h',
      ].join('; '),
    );
    assert.deepEqual(r.stdout.trim().split('\n'), Array(7).fill('Operation not permitted'));
    assert.deepEqual(snapshot(ws), before);

    const denied = denials(r.events);
    const find = (op: string, resource: string) =>
      denied.find((e) => e.op === op && e.resource === resource);
    const rename = find('rename', `${ws}/.git/hooks/pre-commit`);
    assert.equal(rename?.path, `${ws}/h`);
    assert.equal(rename?.to, `${ws}/.git/hooks/pre-commit`);
    assert.deepEqual(rename?.policies, ['workspace-protected']);
    assert.equal(rename?.action, 'WriteFile');
    assert.equal(rename?.access, 'write');
    assert.equal(find('rename', `${ws}/.git/hooks`)?.to, `${ws}/.git/hooks.old`);
    assert.ok(find('truncate', `${ws}/.git/config`));
    assert.ok(find('unlink', `${ws}/.git/hooks/pre-commit`));
    assert.ok(find('symlink', `${ws}/.git/hooks/post-checkout`));
    assert.ok(find('mkdir', `${ws}/.vscode`));
  });

  it('refuses renaming or removing a directory that holds a protected path', () => {
    const ws = makeWorkspace(PROTECTED);
    const before = snapshot(ws);
    const r = run(
      ws,
      [
        errorOf(`mv ${ws}/.git ${ws}/git-old`),
        errorOf(`rm -rf ${ws}/.git`),
        // A crafted directory cannot take the place of one that would hold protected paths.
        `mkdir -p /tmp/fake/hooks && echo evil > /tmp/fake/hooks/pre-commit`,
        errorOf(`mv /tmp/fake ${ws}/.git.new && mv -T ${ws}/.git.new ${ws}/.git`),
      ].join('; '),
    );
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'Operation not permitted');
    assert.ok(lines.includes('Operation not permitted'));
    assert.equal(fs.existsSync(path.join(ws, 'git-old')), false);
    assert.deepEqual(
      Object.fromEntries(Object.entries(snapshot(ws)).filter(([k]) => !k.startsWith('.git.new'))),
      before,
    );
    const moved = denials(r.events).find((e) => e.op === 'rename' && e.path === `${ws}/.git`);
    assert.deepEqual(moved?.policies, ['workspace-protected']);
  });

  it('keeps a secret from being moved out of a protected directory', async () => {
    const ws = makeWorkspace();
    const flag = path.join(ws, 'planted');
    const session = daemon.cliAsync([
      'run',
      '--json',
      '--workspace',
      ws,
      'shell',
      '--',
      'bash',
      '-c',
      `while [ ! -e ${flag} ]; do sleep 0.05; done; ` +
        `${errorOf('mv /root/.ssh/id_ed25519 /tmp/k')}; cat /tmp/k 2>&1 | sed 's/.*: //'`,
    ]);
    // Plant the key from outside, as the user's own files would be.
    let container = '';
    for (let i = 0; i < 200 && !container; i++) {
      await sleep(100);
      const list = daemon.cli(['sessions', '--json']);
      const found = list.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { containerId?: string; workspace?: string })
        .find((s) => s.workspace === ws);
      container = found?.containerId ?? '';
    }
    assert.ok(container, 'the session did not start');
    const keyDir = fs.mkdtempSync(path.join(ws, '..', 'leash-key-'));
    fs.writeFileSync(path.join(keyDir, 'id_ed25519'), 'PRIVATE KEY\n');
    const cp = spawnSync('docker', ['cp', `${keyDir}/.`, `${container}:/root/.ssh`], {
      encoding: 'utf8',
    });
    assert.equal(cp.status, 0, cp.stderr);
    fs.rmSync(keyDir, { recursive: true, force: true });
    fs.writeFileSync(flag, '');

    const r = await session.done;
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'Operation not permitted',
      'No such file or directory',
    ]);
    const events = daemon.events(sessionOf(r.stderr));
    const e = denials(events).find((x) => x.op === 'rename');
    assert.equal(e?.resource, '/root/.ssh/id_ed25519');
    assert.deepEqual(e?.policies, ['home-secrets']);
  });

  it('lets ordinary work change the workspace', () => {
    const ws = makeWorkspace({ 'notes.txt': 'one\ntwo\n', 'old/a.txt': 'a\n' });
    const r = run(
      ws,
      [
        'set -e',
        `cd ${ws}`,
        'mv old new',
        'mv new/a.txt new/b.txt',
        'mkdir -p build/out/deep',
        'echo done > build/out/deep/result',
        // How git and editors save: write a temporary file, then rename it into place.
        'echo three > .notes.txt.tmp && mv .notes.txt.tmp notes.txt',
        `perl -e 'truncate("new/b.txt", 1) or die "$!"'`,
        'ln -s notes.txt link',
        'mkfifo pipe && rm pipe',
        // Through a descriptor of the caller's own, as race-aware tools name directories.
        'exec 9< new && mkdir /proc/self/fd/9/sub && rmdir /dev/fd/9/sub && exec 9<&-',
        'mkdir -p /tmp/src/pkg && echo lib > /tmp/src/pkg/lib.js && ln -s lib.js /tmp/src/pkg/index.js',
        'tar -C /tmp/src -cf /tmp/src.tar pkg && mkdir vendor && tar -C vendor -xf /tmp/src.tar',
        'rm -r build',
        'echo ok',
      ].join('\n'),
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
    assert.deepEqual(snapshot(ws), {
      'new/b.txt': 'a',
      'notes.txt': 'three\n',
      'vendor/pkg/lib.js': 'lib\n',
      link: 'three\n',
      'vendor/pkg/index.js': 'lib\n',
    });
    assert.equal(denials(r.events).length, 0);
  });

  it('fails the changes, never lets them through, once the supervisor is gone', async () => {
    const own = new TestDaemon();
    await own.start();
    const ws = makeWorkspace(PROTECTED);
    const before = snapshot(ws);
    const log = path.join(ws, 'attempts.log');
    // One process, so nothing new has to be opened or run once leashd is gone (opens then
    // wait for an answer that never comes).
    const attacker = [
      'open(my $log, ">>", "attempts.log") or die; $log->autoflush(1);',
      'open(my $h, ">", "h") or die; close($h);',
      'while (1) {',
      '  for my $try (["rename", sub { rename("h", ".git/hooks/pre-commit") }],',
      '               ["move-dir", sub { rename(".git", ".git.old") }],',
      '               ["remove", sub { unlink(".git/config") }]) {',
      '    my ($what, $op) = @$try;',
      '    print $log ($op->() ? "$what succeeded\\n" : "$what: $!\\n");',
      '  }',
      '  select(undef, undef, undef, 0.002);',
      '}',
    ].join(' ');
    const session = own.cliAsync([
      'run',
      '--workspace',
      ws,
      'shell',
      '--',
      'bash',
      '-c',
      `cd ${ws} && exec perl -e '${attacker}'`,
    ]);
    try {
      for (let i = 0; i < 100 && !fs.existsSync(log); i++) await sleep(100);
      await sleep(300);
      own.process?.kill('SIGKILL');
      await session.done;
      await sleep(1000);
    } finally {
      for (const id of dockerContainers(`${DAEMON_LABEL}=${own.socket}`)) {
        spawnSync('docker', ['rm', '-f', id]);
      }
      await own.stop();
    }
    const attempts = fs.readFileSync(log, 'utf8');
    assert.match(attempts, /^rename: Operation not permitted$/m);
    // Once leashd is gone the calls fail with ENOSYS until the keeper ends the sandbox, which
    // can come first: every attempt failed, one way or the other.
    for (const line of new Set(attempts.trim().split('\n'))) {
      assert.match(line, /^[\w-]+: (Operation not permitted|Function not implemented)$/, line);
    }
    const after = snapshot(ws);
    delete after['attempts.log'];
    delete after['h'];
    assert.deepEqual(after, before);
  });
});
