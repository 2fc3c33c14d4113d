/** The docker runtime: a hardened container per session, started through dockerode. */
import { launcherPath } from '@leash/bpf';
import Docker from 'dockerode';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { PassThrough, type Duplex } from 'node:stream';
import type { CommandOptions, Sandbox, SandboxCommand } from './runtime';
import { sandboxSeccompProfile } from './seccomp';

export const SESSION_LABEL = 'dev.leash.session';
/** Which leashd (by its socket) owns a container: a restarted leashd cleans up only its own. */
export const DAEMON_LABEL = 'dev.leash.daemon';

/** Where leash-launch (see @leash/bpf) sits in every sandbox, read-only. */
export const LAUNCHER_IN_SANDBOX = '/.leash-launch';

export { ENV_ALLOWLIST } from './runtime';

export interface ContainerSpec {
  session: string;
  image: string;
  workspace: string;
  env: Record<string, string>;
  /** More read-only mounts (`host:container:ro`) and name servers, from the proxy's wiring. */
  binds?: string[];
  dns?: string[];
}

export interface SandboxContainer extends Sandbox {
  /** The connection holding the init's stdin open: when leashd dies it closes, and so does
   *  the container (its init reads stdin until end of file). */
  lifeline: Duplex;
}

/** Filesystems whose opens are not judged (kernel pseudo-filesystems); see docs/policy.md. */
const UNWATCHED_FS = new Set([
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'mqueue',
  'devpts',
  'securityfs',
]);

export class DockerRuntime {
  readonly docker: Docker;

  constructor(
    private readonly daemonId: string,
    private readonly socketPath = '/var/run/docker.sock',
  ) {
    this.docker = new Docker({ socketPath });
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new Error(
        `no Docker engine answers on ${this.socketPath} (${(err as Error).message}); ` +
          'start it with `npm run setup` or `dockerd &`',
      );
    }
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  /** Creates and starts the session container; enforcement is attached before any command. */
  async start(spec: ContainerSpec): Promise<SandboxContainer> {
    const leashDir = `${spec.workspace}/.leash`;
    fs.mkdirSync(leashDir, { recursive: true });

    const container = await this.docker.createContainer({
      // Unique even beside a leftover of a dead leashd that had a session of the same name.
      name: `leash-${spec.session}-${crypto.randomBytes(3).toString('hex')}`,
      Image: spec.image,
      // The init: holds the lifeline (stdin) and nothing else.
      Cmd: ['/bin/cat'],
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      Tty: false,
      WorkingDir: spec.workspace,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: { [SESSION_LABEL]: spec.session, [DAEMON_LABEL]: this.daemonId },
      HostConfig: <Docker.HostConfig & { CgroupnsMode: 'private' | 'host' }>{
        Binds: [
          `${spec.workspace}:${spec.workspace}:rw`,
          `${leashDir}:${leashDir}:ro`,
          `${launcherPath}:${LAUNCHER_IN_SANDBOX}:ro`,
          ...(spec.binds ?? []),
        ],
        Dns: spec.dns ?? [],
        CapDrop: ['ALL'],
        CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETUID', 'SETGID', 'KILL'],
        SecurityOpt: ['no-new-privileges', `seccomp=${JSON.stringify(sandboxSeccompProfile())}`],
        CgroupnsMode: 'private',
        // No ICMP datagram sockets for anyone.
        Sysctls: { 'net.ipv4.ping_group_range': '1 0' },
        NetworkMode: 'bridge',
        PidsLimit: 4096,
        // Docker's own read-only paths, plus the tmpfs it mounts over /sys/fs/cgroup on cgroup
        // v1 hosts: writable, it would be a scratch area fanotify does not mark.
        ReadonlyPaths: [
          '/proc/bus',
          '/proc/fs',
          '/proc/irq',
          '/proc/sys',
          '/proc/sysrq-trigger',
          '/sys/fs/cgroup',
        ],
        AutoRemove: false,
      },
    });

    try {
      const lifeline = (await container.attach({
        stream: true,
        stdin: true,
        stdout: false,
        stderr: false,
        hijack: true,
      })) as unknown as Duplex;
      await container.start();
      const info = await container.inspect();
      const pid = info.State.Pid;
      return {
        id: container.id,
        pid,
        address: info.NetworkSettings.IPAddress,
        cgroupPath: cgroupV2Path(pid),
        mountPoints: mountPoints(pid),
        lifeline,
      };
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Runs a command in the container; the caller wires its streams. */
  async exec(
    id: string,
    command: string[],
    opts: { tty: boolean; env: Record<string, string>; workdir: string; user?: string },
  ): Promise<{ exec: Docker.Exec; stream: Duplex }> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: command,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: opts.tty,
      Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: opts.workdir,
      ...(opts.user !== undefined ? { User: opts.user } : {}),
    });
    const stream = (await exec.start({ hijack: true, stdin: true, Tty: opts.tty })) as Duplex;
    return { exec, stream };
  }

  /** `exec` as the runtime interface has it: output demultiplexed, exit code and resize. */
  async run(id: string, command: string[], opts: CommandOptions): Promise<SandboxCommand> {
    const { exec, stream } = await this.exec(id, command, opts);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (opts.tty) stream.pipe(stdout);
    else this.docker.modem.demuxStream(stream, stdout, stderr);
    stream.on('end', () => {
      stdout.end();
      stderr.end();
    });
    return {
      stdin: stream,
      stdout,
      stderr,
      exitCode: async () => (await exec.inspect()).ExitCode ?? 255,
      resize: async (cols, rows) => {
        await exec.resize({ w: cols, h: rows });
      },
    };
  }

  async remove(id: string): Promise<void> {
    await this.docker.getContainer(id).remove({ force: true });
  }

  /** Containers of sessions whose leashd is gone: this socket's earlier leashd, or one whose
   *  socket no longer exists. */
  async leftovers(): Promise<{ id: string; session: string }[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [SESSION_LABEL] },
    });
    return list
      .filter((c) => {
        const owner = c.Labels[DAEMON_LABEL] ?? '';
        return owner === this.daemonId || !fs.existsSync(owner);
      })
      .map((c) => ({ id: c.Id, session: c.Labels[SESSION_LABEL] ?? '' }));
  }
}

/** The cgroup v2 directory of a process, from /proc/PID/cgroup (hybrid or unified hosts). */
export function cgroupV2Path(pid: number): string {
  const line = fs
    .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  if (!line) throw new Error(`process ${pid} has no cgroup v2 membership; is cgroup2 mounted?`);
  const rel = line.slice(3);
  const root = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs')
    ? '/sys/fs/cgroup/unified'
    : '/sys/fs/cgroup';
  return rel === '/' ? root : root + rel;
}

/** The container's mount points whose opens are judged, as seen inside the container. */
export function mountPoints(pid: number): string[] {
  const points: string[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const mountPoint = decodeMountPath(left?.split(' ')[4] ?? '');
    const fsType = right?.split(' ')[0] ?? '';
    if (!mountPoint || UNWATCHED_FS.has(fsType)) continue;
    if (/^\/(proc|sys)(\/|$)/.test(mountPoint)) continue;
    if (!points.includes(mountPoint)) points.push(mountPoint);
  }
  return points;
}

function decodeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
