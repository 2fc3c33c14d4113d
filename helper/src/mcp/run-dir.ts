/**
 * Where the MCP shim and the sessions' MCP sockets live: `.leash/run/` in the workspace, which
 * the sandbox sees read-only at the same path, so it can run the shim and reach its socket but
 * replace neither.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUN_DIR = path.join('.leash', 'run');
const SHIM = 'mcp-shim.js';

/** The command an agent in the sandbox runs for a governed server (Node is the image's). */
export function shimCommand(workspace: string, session: string, server: string): string[] {
  const dir = path.join(workspace, RUN_DIR);
  return ['node', path.join(dir, SHIM), socketPathFor(workspace, session), server];
}

export function socketPathFor(workspace: string, session: string): string {
  return path.join(workspace, RUN_DIR, `mcp-${session}.sock`);
}

/**
 * Creates `.leash/run` with the shim in it. Refused if anything on the way is not a plain
 * directory: a cloned workspace could plant a symlink to aim root's writes elsewhere.
 */
export function prepareRunDir(workspace: string): void {
  const leash = path.join(workspace, '.leash');
  const dir = path.join(workspace, RUN_DIR);
  for (const d of [leash, dir]) {
    if (!fs.existsSync(d)) fs.mkdirSync(d, { mode: 0o755 });
    if (!fs.lstatSync(d).isDirectory()) {
      throw new Error(`${d} is not a plain directory; remove it so leashd can create it`);
    }
  }
  writeNoFollow(path.join(dir, '.gitignore'), '*\n');
  writeNoFollow(path.join(dir, SHIM), fs.readFileSync(path.join(__dirname, 'shim.js')));
}

/** Writes a file, never through a symlink planted where it goes. */
function writeNoFollow(file: string, content: string | Buffer): void {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644);
  try {
    fs.writeFileSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
}
