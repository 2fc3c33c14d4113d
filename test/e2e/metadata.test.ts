/** Metadata changes inside a real session under the default policy: chmod, chown, timestamps
 *  and extended attributes of a protected workspace file are refused (and logged as WriteFile
 *  denials), those of an ordinary workspace file are made. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';

/** One `name=status` line per change of FILE, by path and (perl) by descriptor. */
function changes(file: string): string {
  return [
    `chmod 700 ${file}; echo "chmod=$?"`,
    `chown 1:1 ${file}; echo "chown=$?"`,
    `touch -d @0 ${file}; echo "touch=$?"`,
    `perl -e 'open(my $h, "<", shift) or die; print "fchmod=", (chmod(0700, $h) ? 0 : 1), "\\n"' ${file}`,
  ].join('\n');
}

describe('metadata changes', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('refuses them on protected workspace files and makes them on ordinary ones', () => {
    const ws = makeWorkspace({
      '.git/hooks/pre-commit': '#!/bin/sh\nexit 0\n',
      'notes.txt': 'notes\n',
    });
    const hook = path.join(ws, '.git/hooks/pre-commit');
    fs.chmodSync(hook, 0o755);
    const before = fs.statSync(hook);
    const r = daemon.cli([
      ...['run', '--json', '--workspace', ws, 'shell', '--', 'bash', '-c'],
      `${changes(hook)}\n${changes(path.join(ws, 'notes.txt'))}`,
    ]);

    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines, [
      ...['chmod=1', 'chown=1', 'touch=1', 'fchmod=1'],
      ...['chmod=0', 'chown=0', 'touch=0', 'fchmod=0'],
    ]);
    assert.match(r.stderr, /pre-commit.*Operation not permitted/);
    const after = fs.statSync(hook);
    assert.equal(after.mode, before.mode);
    assert.equal(after.uid, before.uid);
    assert.equal(after.mtimeMs, before.mtimeMs);
    const notes = fs.statSync(path.join(ws, 'notes.txt'));
    assert.equal(notes.mode & 0o777, 0o700);
    assert.equal(notes.uid, 1);
    assert.equal(notes.mtimeMs, 0);

    // Those of the change supervisor (touch also opens the file for writing first).
    const denied = daemon
      .events(sessionOf(r.stderr))
      .filter((e) => e.op !== undefined && e.decision === 'deny' && e.resource === hook);
    assert.deepEqual(
      [...new Set(denied.map((e) => `${e.action as string} ${e.op as string}`))].sort(),
      ['WriteFile chmod', 'WriteFile chown', 'WriteFile utimes'],
    );
    assert.ok(denied.every((e) => (e.policies as string[]).includes('workspace-protected')));
  });
});
