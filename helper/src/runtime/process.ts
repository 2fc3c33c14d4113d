/**
 * The process runtime: a session's sandbox without an image or a container engine. Its init
 * runs in new mount, PID, network, IPC, UTS and cgroup namespaces (util-linux `unshare`) inside
 * the session's own cgroup, builds the sandbox's root from its own mounts (process-root.ts),
 * and holds the lifeline. Commands enter it with `nsenter` as the workspace's owner, never
 * root, and start under leash-launch, which sets no_new_privs; leashd moves each launcher into
 * the session's cgroup before letting it run its command. The network is loopback only.
 */
import { launcherPath } from '@leash/bpf';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountPoints } from './docker';
import { createSandboxCgroup, enterCgroup, removeCgroup } from './process-cgroup';
import { INIT_SCRIPT, initEnv } from './process-root';
import { processSeccompFilter } from './process-seccomp';
import { commandFor, type SandboxUser } from './process-command';
import type { CommandOptions, Sandbox, SandboxCommand } from './runtime';

/** The sandbox user's home inside a process sandbox: an empty tmpfs each session. */
export const PROCESS_HOME = '/home/leash';

/** Where the (empty, host-side) mount points of the sandboxes' roots are made. */
const STAGING_PARENT = '/run/leash-roots';

/** How long an init may take to build the root and say `ready`. */
const START_TIMEOUT_MS = 20_000;

export interface ProcessSpec {
  session: string;
  workspace: string;
  user: SandboxUser;
}

interface ProcessSandbox extends Sandbox {
  user: SandboxUser;
  workspace: string;
  init: ChildProcess;
  stagingDir: string;
}

export class ProcessRuntime {
  readonly name = 'process';
  private readonly sandboxes = new Map<string, ProcessSandbox>();

  /** `hidden`: leashd's own directories (state, socket, settings), never visible inside. */
  constructor(private readonly hidden: string[]) {}

  /** What this machine lacks for process sandboxes, or undefined when it has everything. */
  static missing(): string | undefined {
    for (const tool of ['unshare', 'nsenter', 'pivot_root', 'mount', 'ip']) {
      const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      if (found.status !== 0) {
        return `${tool} is not installed (util-linux and iproute2 provide what it needs)`;
      }
    }
    if (!fs.existsSync(launcherPath)) {
      return `leash-launch is missing at ${launcherPath}; build it with \`npm run build:native\``;
    }
    return undefined;
  }

  /** Starts the sandbox's init and waits until its root is built. */
  async start(spec: ProcessSpec): Promise<Sandbox> {
    const missing = ProcessRuntime.missing();
    if (missing) throw new Error(`the process runtime cannot start here: ${missing}`);
    // Every command needs the profile: a machine it cannot be compiled for fails here.
    processSeccompFilter();
    fs.mkdirSync(path.join(spec.workspace, '.leash'), { recursive: true });
    fs.mkdirSync(STAGING_PARENT, { recursive: true, mode: 0o700 });
    const stagingDir = fs.mkdtempSync(path.join(STAGING_PARENT, `${spec.session}-`));
    const cgroupPath = createSandboxCgroup(spec.session);

    // The init enters the session's cgroup before unsharing, so its cgroup namespace is
    // rooted there; --kill-child ends it if unshare itself is killed.
    const init = spawn(
      '/bin/sh',
      [
        '-c',
        'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
        'leash-enter',
        cgroupPath,
        'unshare',
        ...['--mount', '--pid', '--net', '--ipc', '--uts', '--cgroup'],
        ...['--fork', '--kill-child', '--propagation', 'private'],
        '--',
        '/bin/sh',
        '-c',
        'eval "$LEASH_INIT"',
        'leash-init',
        ...this.hidden,
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          LEASH_INIT: INIT_SCRIPT,
          ...initEnv({
            stagingDir,
            workspace: spec.workspace,
            launcher: launcherPath,
            home: PROCESS_HOME,
            uid: spec.user.uid,
            gid: spec.user.gid,
          }),
        },
      },
    );
    const lifeline = new EventEmitter();
    init.on('exit', () => lifeline.emit('close'));
    const cleanup = async (): Promise<void> => {
      init.kill('SIGKILL');
      await removeCgroup(cgroupPath);
      fs.rmSync(stagingDir, { recursive: true, force: true });
    };

    try {
      await waitForReady(init);
      const pid = initPid(init);
      const id = path.basename(cgroupPath);
      const sandbox: ProcessSandbox = {
        id,
        pid,
        address: '',
        cgroupPath,
        mountPoints: mountPoints(pid),
        lifeline,
        user: spec.user,
        workspace: spec.workspace,
        init,
        stagingDir,
      };
      this.sandboxes.set(id, sandbox);
      return sandbox;
    } catch (err) {
      await cleanup().catch((cleanupErr: Error) => {
        (err as Error).message += `; cleaning up after it failed too: ${cleanupErr.message}`;
      });
      throw err;
    }
  }

  /** Runs a command in the sandbox as its user, with its streams piped (or on a terminal). */
  async run(id: string, command: string[], opts: CommandOptions): Promise<SandboxCommand> {
    const sandbox = this.get(id);
    return commandFor(sandbox, command, opts);
  }

  /** Moves a process started by `run` (its host pid) into the sandbox's cgroup. */
  place(id: string, hostPid: number): void {
    enterCgroup(this.get(id).cgroupPath, hostPid);
  }

  /** Ends every process of the sandbox (its init is PID 1 of them all) and removes it. */
  async remove(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox) return;
    this.sandboxes.delete(id);
    const { init } = sandbox;
    if (init.exitCode === null && init.signalCode === null) {
      const exited = new Promise((r) => init.once('exit', r));
      killQuietly(sandbox.pid);
      init.kill('SIGKILL');
      await exited;
    }
    await removeCgroup(sandbox.cgroupPath);
    fs.rmSync(sandbox.stagingDir, { recursive: true, force: true });
  }

  private get(id: string): ProcessSandbox {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox) throw new Error(`no process sandbox ${id}; it has ended`);
    return sandbox;
  }
}

/** The user a process sandbox runs as: the workspace's owner, which must not be root. */
export function sandboxUser(workspace: string): SandboxUser {
  const st = fs.statSync(workspace);
  if (st.uid === 0) {
    throw new Error(
      `the process runtime runs the agent as the owner of the workspace, and ${workspace} ` +
        'belongs to root; give it to the user the agent should run as ' +
        `(\`chown -R USER: ${workspace}\`)`,
    );
  }
  return { uid: st.uid, gid: st.gid };
}

/** Resolves once the init prints `ready`; rejects with what it printed when it ends first. */
function waitForReady(init: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => fail(`it did not finish within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`the process sandbox did not start: ${why}${err ? `: ${err.trim()}` : ''}`));
    };
    init.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    init.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    init.on('exit', (code, signal) => fail(`its init ended (${signal ?? `status ${code}`})`));
    init.on('error', (e) => fail(e.message));
  });
}

/** The host pid of the init: the child unshare forked into the new PID namespace. */
function initPid(init: ChildProcess): number {
  const pid = init.pid;
  if (pid === undefined) throw new Error('the process sandbox did not start: no pid');
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  const first = Number(children.split(/\s+/)[0]);
  if (!Number.isInteger(first) || first <= 0) {
    throw new Error(`the process sandbox did not start: unshare (pid ${pid}) has no child`);
  }
  return first;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
