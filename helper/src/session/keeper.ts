/**
 * The keeper of a session's fanotify group: a small process that holds the group without
 * ever reading it, so that if leashd dies, opens in the sandbox wait instead of passing
 * unjudged. It also ends the sandbox the moment leashd is gone (every process of the
 * sandbox's cgroup, principals' leaves included, killed through `cgroup.kill`), and leaves
 * once the sandbox's init is gone: the group must never close while the sandbox runs.
 * leashd in turn ends the session when the keeper dies. The keeper's watcher (the subshell
 * waiting for leashd's end) holds the group too, so that killing the keeper, with or without
 * leashd, still leaves a holder that kills the sandbox before the group can close. Killing
 * every holder at once is the open gap (docs/limitations.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Socket } from 'node:net';

// $0: the sandbox init's host pid; $1: the sandbox cgroup's cgroup.kill; fd 3: the group;
// fd 4: a pipe from leashd that is never written, so end of file means leashd is gone.
const SCRIPT = `
(read -r _ <&4; [ -d "/proc/$0" ] && echo 1 > "$1") &
watcher=$!
while [ -d "/proc/$0" ]; do sleep 0.2; done
kill "$watcher" 2>/dev/null
`;

export class Keeper {
  private constructor(private readonly process: ChildProcess) {}

  /** Starts the keeper; `onGone` runs if it ends before `stop()`. */
  static start(
    groupFd: number,
    initPid: number,
    sandboxCgroup: string,
    onGone: (why: string) => void,
  ): Keeper {
    const child = spawn(
      '/bin/sh',
      ['-c', SCRIPT, String(initPid), path.join(sandboxCgroup, 'cgroup.kill')],
      { stdio: ['ignore', 'ignore', 'ignore', groupFd, 'pipe'], detached: true },
    );
    const keeper = new Keeper(child);
    child.on('exit', (code, signal) => {
      if (!keeper.stopping) onGone(signal ? `signal ${signal}` : `exit code ${code}`);
    });
    child.unref();
    (child.stdio[4] as Socket | null)?.unref();
    return keeper;
  }

  private stopping = false;

  /** Ends the keeper and its watcher (its own process group), once the sandbox is gone. */
  stop(): void {
    this.stopping = true;
    const pid = this.process.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}
