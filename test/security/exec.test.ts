/**
 * Ways around an Exec policy, each tried from inside a real session: other names, copies,
 * interpreters, the dynamic loader, memfd, argv[0], and argument quoting. The policy lets
 * programs under /usr and the workspace's scripts/ run, forbids /usr/bin/env, and forbids any
 * program given `--force`.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';
import { WORKSPACE_RW_NO_EXEC } from '../support/policies';

const FILES = WORKSPACE_RW_NO_EXEC;

function policyFor(ws: string): string {
  return `${FILES}
@id("tmp-rw")
permit (
  principal,
  action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
  resource in Leash::Dir::"/tmp"
);

@id("exec-system")
permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"/usr");

@id("exec-scripts")
permit (principal, action == Leash::Action::"Exec", resource in Leash::Dir::"${ws}/scripts");

@id("no-env")
forbid (principal, action == Leash::Action::"Exec", resource == Leash::File::"/usr/bin/env");

@id("no-force")
forbid (principal, action == Leash::Action::"Exec", resource)
when { context.argv.contains("--force") };
`;
}

describe('exec policy escapes', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  /** Runs each line in a session and returns its `name=status` lines as a record. */
  function attempt(lines: Record<string, string>, files: Record<string, string> = {}) {
    const ws = makeWorkspace(files);
    for (const f of Object.keys(files)) fs.chmodSync(path.join(ws, f), 0o755);
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(policy, policyFor(ws));
    const script = Object.entries(lines)
      .map(([name, line]) => `(${line.replaceAll('WS', ws)}) >/dev/null 2>&1; echo "${name}=$?"`)
      .join('\n');
    const r = daemon.cli([
      ...['run', '--json', '--policy', policy, '--workspace', ws],
      ...['shell', '--', 'sh', '-c', script],
    ]);
    const status: Record<string, number> = {};
    for (const m of r.stdout.matchAll(/^([\w-]+)=(\d+)$/gm)) status[m[1]!] = Number(m[2]);
    return { status, events: daemon.events(sessionOf(r.stderr)), ws, r };
  }

  it('judges a program by the file that runs, whatever name or copy reaches it', () => {
    const { status, r } = attempt({
      direct: '/usr/bin/env true',
      symlink: 'ln -s /usr/bin/env /tmp/e && /tmp/e true',
      'bin-path': '/bin/env true',
      'proc-fd': `perl -e 'open(my $f, "<", "/usr/bin/env") or die; exec { "/proc/self/fd/" . fileno($f) } "env", "true" or exit 126'`,
      'copy-to-tmp': 'cp /usr/bin/env /tmp/env2 && /tmp/env2 true',
      'copy-to-workspace': 'cp /usr/bin/env WS/env2 && WS/env2 true',
      'copy-to-scripts': 'mkdir -p WS/scripts && cp /usr/bin/true WS/scripts/t && WS/scripts/t',
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(status.direct, 126, out);
    assert.equal(status.symlink, 126, out);
    assert.equal(status['bin-path'], 126, out);
    assert.equal(status['proc-fd'], 126, out);
    assert.equal(status['copy-to-tmp'], 126, out);
    assert.equal(status['copy-to-workspace'], 126, out);
    assert.equal(status['copy-to-scripts'], 0, out);
  });

  it('judges what a script hands over to, and the script on its own arguments', () => {
    const { status, r } = attempt(
      {
        'via-env': 'WS/scripts/via-env.sh',
        plain: 'WS/scripts/plain.sh',
        'plain-force': 'WS/scripts/plain.sh --force',
        'sh-file-force': 'sh WS/scripts/plain.sh --force',
      },
      {
        'scripts/via-env.sh': '#!/usr/bin/env sh\nexit 0\n',
        'scripts/plain.sh': '#!/bin/sh\nexit 0\n',
      },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(status['via-env'], 126, out);
    assert.equal(status.plain, 0, out);
    assert.equal(status['plain-force'], 137, out);
    assert.equal(status['sh-file-force'], 137, out);
  });

  it('closes the loader, memfd and argv[0] routes', () => {
    const memfd =
      `perl -e 'my $n = "m"; my $fd = syscall(319, $n, 0); open(my $o, ">&=", $fd) or die; ` +
      `open(my $i, "<", "/usr/bin/true") or die; binmode $i; local $/; print {$o} readline($i); ` +
      `$o->flush; exec { "/proc/self/fd/$fd" } "m" or die'`;
    const { status, events, r } = attempt({
      loader: '/lib64/ld-linux-x86-64.so.2 /usr/bin/env true',
      'loader-allowed-program': '/lib64/ld-linux-x86-64.so.2 /usr/bin/true',
      memfd,
      'argv0-hides-force': `perl -e 'exec { "/usr/bin/true" } "innocent", "--force"'`,
      'argv0-is-force': `perl -e 'exec { "/usr/bin/true" } "--force", "ok"'`,
      'argv0-names-allowed': `perl -e 'exec { "/usr/bin/env" } "/usr/bin/true"; exit 126'`,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(status.loader, 137, out);
    assert.equal(status['loader-allowed-program'], 137, out);
    assert.equal(status.memfd, 137, out);
    assert.equal(status['argv0-hides-force'], 137, out);
    assert.equal(status['argv0-is-force'], 0, out);
    assert.equal(status['argv0-names-allowed'], 126, out);
    const loader = events.find((e) => e.kind === 'exec' && e.resource === 'dynamic loader');
    assert.equal(loader?.decision, 'deny');
    const memfdEvent = events.find((e) => e.kind === 'exec' && e.resource === 'unknown program');
    assert.equal(memfdEvent?.decision, 'deny');
  });

  it('matches arguments exactly: quoting and splitting decide what argv holds', () => {
    const { status, r } = attempt({
      exact: '/usr/bin/true --force',
      quoted: '/usr/bin/true "--force"',
      'with-space': '/usr/bin/true "--force "',
      'with-value': '/usr/bin/true --force=1',
      'in-one-word': '/usr/bin/true "a --force"',
      'split-by-shell': 'X="a --force"; /usr/bin/true $X',
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(status.exact, 137, out);
    assert.equal(status.quoted, 137, out);
    assert.equal(status['with-space'], 0, out);
    assert.equal(status['with-value'], 0, out);
    assert.equal(status['in-one-word'], 0, out);
    assert.equal(status['split-by-shell'], 137, out);
  });
});
