import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GovernedRegistry, loadGovernedServers, parseGovernedServers } from './servers';

describe('governed MCP server declarations', () => {
  it('reads a declaration with command, env and cwd', () => {
    const servers = parseGovernedServers(
      { notes: { command: ['node', '/opt/notes.js'], env: { A: '1' }, cwd: '/opt' } },
      'f.json',
    );
    assert.deepEqual(servers.get('notes'), {
      name: 'notes',
      command: ['node', '/opt/notes.js'],
      env: { A: '1' },
      cwd: '/opt',
    });
  });

  const bad: [string, unknown, RegExp][] = [
    ['a list instead of an object', [], /mcpServers must be an object/],
    ['a name with a slash', { 'a/b': { command: ['x'] } }, /no \/ or \./],
    ['a name with a dot', { 'a.b': { command: ['x'] } }, /no \/ or \./],
    ['an upper-case name', { Notes: { command: ['x'] } }, /lower-case/],
    ['no command', { notes: {} }, /command must be a non-empty array/],
    ['a command as a string', { notes: { command: 'node x.js' } }, /command must be/],
    [
      'env with a number',
      { notes: { command: ['x'], env: { A: 1 } } },
      /env must be an object of strings/,
    ],
    ['a relative cwd', { notes: { command: ['x'], cwd: 'opt' } }, /cwd must be an absolute path/],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}, naming the file and the server`, () => {
      assert.throws(
        () => parseGovernedServers(value, 'f.json'),
        (err: Error) => {
          assert.match(err.message, /^f\.json: /);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('takes mcpServers from the settings file, and the whole file from --mcp-servers', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-mcp-'));
    const settings = path.join(dir, 'leashd.json');
    fs.writeFileSync(
      settings,
      JSON.stringify({ uiPort: 0, mcpServers: { a: { command: ['x'] } } }),
    );
    assert.deepEqual([...loadGovernedServers(undefined, settings).keys()], ['a']);
    const flag = path.join(dir, 'servers.json');
    fs.writeFileSync(flag, JSON.stringify({ b: { command: ['y'] } }));
    assert.deepEqual([...loadGovernedServers(flag, settings).keys()], ['b']);
    assert.equal(loadGovernedServers(undefined, path.join(dir, 'none.json')).size, 0);
    assert.throws(() => loadGovernedServers(path.join(dir, 'none.json'), settings), /no such file/);
    fs.rmSync(dir, { recursive: true });
  });

  it('keeps added servers 0600 across restarts and leaves the settings ones alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-mcp-'));
    const state = path.join(dir, 'mcp-servers.json');
    const fromSettings = parseGovernedServers({ a: { command: ['x'] } }, 'settings');
    const registry = new GovernedRegistry(fromSettings, state);
    registry.add({ name: 'b', command: ['node', '/b.js'], env: {}, cwd: '' });
    assert.throws(
      () => registry.add({ name: 'a', command: ['y'], env: {}, cwd: '' }),
      /already declared/,
    );
    assert.throws(() => registry.remove('a'), /declared in leashd's settings/);
    assert.equal(fs.statSync(state).mode & 0o777, 0o600);

    const again = new GovernedRegistry(fromSettings, state);
    assert.deepEqual(
      again.list().map((s) => [s.name, s.source]),
      [
        ['a', 'settings'],
        ['b', 'leash mcp add'],
      ],
    );
    assert.equal(again.remove('b'), true);
    assert.equal(again.remove('b'), false);
    assert.deepEqual([...new GovernedRegistry(fromSettings, state).all().keys()], ['a']);
    fs.rmSync(dir, { recursive: true });
  });
});
