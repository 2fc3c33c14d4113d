/**
 * A command in a process sandbox: `nsenter` joins the sandbox's namespaces and root, takes the
 * sandbox user's uid and gid (dropping supplementary groups and, with them, every capability),
 * and execs leash-launch there, which installs the sandbox's seccomp profile (read from a pipe
 * on descriptor 3) before anything of the command runs. With a terminal, util-linux `script`
 * holds the pseudo-terminal on the host side.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Writable } from 'node:stream';
import { LAUNCHER_IN_SANDBOX } from './docker';
import { processSeccompFilter } from './process-seccomp';
import type { CommandOptions, SandboxCommand } from './runtime';

/** The descriptor the profile arrives on. */
const PROFILE_FD = 3;
let profile: Buffer | undefined;

export interface SandboxUser {
  uid: number;
  gid: number;
}

export function commandFor(
  sandbox: { pid: number; user: SandboxUser },
  command: string[],
  opts: CommandOptions,
): SandboxCommand {
  if (opts.user !== undefined) {
    throw new Error(
      `the process runtime runs commands as the workspace's owner, not as ${opts.user}`,
    );
  }
  if (command[0] !== LAUNCHER_IN_SANDBOX || command[1] !== '--') {
    throw new Error(`a command in a process sandbox must start under ${LAUNCHER_IN_SANDBOX} --`);
  }
  profile ??= processSeccompFilter();
  const launched = [LAUNCHER_IN_SANDBOX, '--filter-fd', String(PROFILE_FD), ...command.slice(1)];
  const enter = [
    'nsenter',
    ...['--target', String(sandbox.pid)],
    ...['--mount', '--uts', '--ipc', '--net', '--pid', '--cgroup', '--root'],
    `--wdns=${opts.workdir}`,
    ...['--setuid', String(sandbox.user.uid), '--setgid', String(sandbox.user.gid)],
    '--',
    ...launched,
  ];
  const stdio: ('pipe' | 'ignore')[] = ['pipe', 'pipe', 'pipe', 'pipe'];
  const child = opts.tty
    ? spawn(
        'script',
        ['--quiet', '--return', '--flush', '--command', onTerminal(enter, opts.env), '/dev/null'],
        { env: { ...opts.env, SHELL: '/bin/sh' }, stdio },
      )
    : spawn(enter[0] as string, enter.slice(1), { env: opts.env, stdio });
  const { stdin, stdout, stderr } = child;
  const profileInput = child.stdio[PROFILE_FD] as Writable | null;
  if (!stdin || !stdout || !stderr || !profileInput) {
    throw new Error('the command in the process sandbox has no pipes');
  }
  // A command that ends before reading the profile has not run anything: its launcher
  // refuses to start without one (status 126), so a broken pipe here needs no more.
  profileInput.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') stderr.push(`leash: could not pass the profile: ${err.message}\n`);
  });
  profileInput.end(profile);

  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
    child.on('error', (err) => {
      stderr.push(`leash: could not start the command: ${err.message}\n`);
      resolve(255);
    });
  });
  return {
    stdin,
    stdout,
    stderr,
    exitCode: () => exited,
    resize: async (cols, rows) => {
      if (opts.tty && child.pid !== undefined) setTerminalSize(child.pid, cols, rows);
    },
  };
}

/**
 * The shell line `script` runs: the command, with SHELL as the caller set it (or unset).
 * nsenter stays in the terminal's foreground group on the host side: it ignores interrupt and
 * quit, so Ctrl-C reaches only the command (leash-launch restores both for it).
 */
function onTerminal(argv: string[], env: Record<string, string>): string {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return `${env.SHELL === undefined ? 'unset SHELL; ' : ''}trap '' INT QUIT; exec ${quoted}`;
}

/** Sets the size of the pseudo-terminal `script` (host pid `pid`) gave its command. */
function setTerminalSize(pid: number, cols: number, rows: number): void {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  const child = children.split(/\s+/)[0];
  if (!child) return; // not started yet, or already gone
  const terminal = fs.readlinkSync(`/proc/${child}/fd/0`);
  if (!terminal.startsWith('/dev/pts/')) return;
  const r = spawnSync('stty', ['-F', terminal, 'rows', String(rows), 'cols', String(cols)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`could not resize ${terminal}: ${r.stderr.trim() || r.error?.message}`);
  }
}
