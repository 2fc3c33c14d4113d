/** Names of cgroup v2 directories as the kernel reports them in /proc/<pid>/cgroup. */
import * as fs from 'node:fs';

/** Where this process sees the cgroup v2 hierarchy mounted (hybrid hosts: .../unified). */
function cgroupV2Mounts(): string[] {
  const mounts: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] !== 'cgroup2') continue;
    const root = left?.split(' ')[3];
    const point = left?.split(' ')[4];
    if (root === '/' && point !== undefined) mounts.push(point);
  }
  return mounts;
}

/**
 * The path of a cgroup v2 directory from the hierarchy's root (`/docker/<id>/…`), the form of
 * the `0::` line of /proc/<pid>/cgroup for its tasks. Throws when `dir` is under no cgroup v2
 * mount of this process.
 */
export function cgroupName(dir: string): string {
  const real = fs.realpathSync(dir);
  for (const mount of cgroupV2Mounts()) {
    if (real === mount) return '/';
    if (real.startsWith(mount + '/')) return real.slice(mount.length);
  }
  throw new Error(`${dir} is not a directory of a cgroup v2 hierarchy mounted here`);
}

/** The directory of the cgroup a process is in (cgroup v2), under this process's mount. */
export function cgroupDirOf(pid: number | 'self'): string {
  const name = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  const mount = cgroupV2Mounts()[0];
  if (name === undefined || mount === undefined) {
    throw new Error(`process ${pid} is in no cgroup v2 hierarchy mounted here`);
  }
  return name === '/' ? mount : mount + name;
}
