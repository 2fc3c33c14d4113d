/** `leash mcp list|add|rm` against a real leashd with a server from its settings flag. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { TestDaemon } from '../support/leashd';

describe('leash mcp', { skip: sandboxSkip() }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-mcp-cli-'));
  const serversFile = path.join(dir, 'servers.json');
  fs.writeFileSync(serversFile, JSON.stringify({ notes: { command: ['node', '/opt/notes.js'] } }));
  const daemon = new TestDaemon(['--mcp-servers', serversFile]);
  before(() => daemon.start());
  after(async () => {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const list = () =>
    daemon
      .cli(['mcp', 'list', '--json'])
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as { name: string; command: string[]; source: string; env: object },
      );

  it('lists the servers of the settings', () => {
    assert.deepEqual(list(), [
      { name: 'notes', command: ['node', '/opt/notes.js'], env: {}, cwd: '', source: 'settings' },
    ]);
  });

  it('adds a server with its command, env and cwd, and removes it again', () => {
    const r = daemon.cli([
      'mcp',
      'add',
      'files',
      '--env',
      'ROOT=/w',
      '--cwd',
      '/w',
      '--',
      'node',
      '/opt/files.js',
      '--ro',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const added = list().find((s) => s.name === 'files');
    assert.deepEqual(added, {
      name: 'files',
      command: ['node', '/opt/files.js', '--ro'],
      env: { ROOT: '/w' },
      cwd: '/w',
      source: 'leash mcp add',
    });
    assert.equal(fs.statSync(path.join(daemon.stateDir, 'mcp-servers.json')).mode & 0o777, 0o600);
    assert.equal(daemon.cli(['mcp', 'rm', 'files']).status, 0);
    assert.deepEqual(
      list().map((s) => s.name),
      ['notes'],
    );
  });

  it('refuses a bad name, a name taken, removing a settings server, and an unknown one', () => {
    const cases: [string[], RegExp][] = [
      [['mcp', 'add', 'a/b', '--', 'x'], /no \/ or \./],
      [['mcp', 'add', 'notes', '--', 'x'], /already declared/],
      [['mcp', 'rm', 'notes'], /declared in leashd's settings; remove it there/],
      [['mcp', 'rm', 'nope'], /no MCP server named nope/],
    ];
    for (const [args, message] of cases) {
      const r = daemon.cli(args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
