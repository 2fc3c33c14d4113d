import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareRunDir } from './run-dir';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'leash-run-dir-'));
}

describe("the workspace's MCP run folder", () => {
  it('holds the shim and ignores itself in git', () => {
    const ws = tmp();
    prepareRunDir(ws);
    const shim = fs.readFileSync(path.join(ws, '.leash', 'run', 'mcp-shim.js'), 'utf8');
    assert.match(shim, /createConnection/);
    assert.equal(fs.readFileSync(path.join(ws, '.leash', 'run', '.gitignore'), 'utf8'), '*\n');
    fs.rmSync(ws, { recursive: true });
  });

  it('refuses a planted symlink instead of writing through it', () => {
    const ws = tmp();
    const elsewhere = tmp();
    fs.mkdirSync(path.join(ws, '.leash'));
    fs.symlinkSync(elsewhere, path.join(ws, '.leash', 'run'));
    assert.throws(() => prepareRunDir(ws), /\.leash\/run is not a plain directory/);
    assert.deepEqual(fs.readdirSync(elsewhere), []);

    fs.rmSync(path.join(ws, '.leash', 'run'));
    fs.mkdirSync(path.join(ws, '.leash', 'run'));
    fs.symlinkSync(path.join(elsewhere, 'x'), path.join(ws, '.leash', 'run', '.gitignore'));
    assert.throws(() => prepareRunDir(ws), /ELOOP/);
    assert.deepEqual(fs.readdirSync(elsewhere), []);
    fs.rmSync(ws, { recursive: true });
    fs.rmSync(elsewhere, { recursive: true });
  });
});
