/** Which directories may be a session's workspace. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SYSTEM_DIRS = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/var/tmp',
  '/var/lib',
  '/var/log',
  '/home',
  '/usr/local',
];

/**
 * Resolves and checks a workspace: it must exist, be a directory, and be neither a system
 * directory, a home directory itself, nor anything holding or inside leashd's own files.
 * Returns the real path; throws an Error that says what to do otherwise.
 */
export function checkWorkspace(dir: string, leashdPaths: string[]): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    throw new Error(`workspace ${dir} does not exist; create it or pass --workspace DIR`);
  }
  if (!fs.statSync(real).isDirectory()) throw new Error(`workspace ${dir} is not a directory`);

  const refuse = (why: string): never => {
    throw new Error(`workspace ${real} refused: ${why}; use a project directory instead`);
  };
  if (SYSTEM_DIRS.includes(real)) refuse('it is a system directory');
  if (isHomeDir(real)) refuse('it is a home directory itself');
  for (const p of leashdPaths) {
    const resolved = path.resolve(p);
    if (within(resolved, real)) refuse(`it holds leashd's files (${resolved})`);
    if (within(real, resolved)) refuse(`it lies inside leashd's files (${resolved})`);
  }
  return real;
}

function isHomeDir(dir: string): boolean {
  if (dir === os.homedir()) return true;
  try {
    return fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((line) => line.split(':')[5] === dir);
  } catch {
    return false;
  }
}

/** Whether `inner` is `outer` or lies below it (component-aware). */
export function within(inner: string, outer: string): boolean {
  return inner === outer || outer === '/' || inner.startsWith(outer + '/');
}
