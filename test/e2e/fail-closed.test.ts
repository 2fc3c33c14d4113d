/** Fail closed: killing the keeper of a session's fanotify group, alone or with leashd, lets no
 *  denied read through, and the sandbox ends. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import {
  dockerContainers,
  makeWorkspace,
  sandboxRunning,
  sleep,
  TestDaemon,
  waitFor,
} from '../support/leashd';

/** The keeper leashd started (its own child running the keeper script), by host pid. */
function keeperOf(daemonPid: number): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === daemonPid && cmdline.includes('cgroup.kill')) return Number(entry);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`leashd ${daemonPid} has no keeper`);
}

/** Starts a session that reads its denied .env as fast as it can, noting any read that works;
 *  calls `kill` once the loop runs, then waits for the sandbox to end. The leaked reads. */
async function raceReads(
  kill: (daemon: TestDaemon) => void,
): Promise<{ leaks: number; log: string }> {
  const own = new TestDaemon();
  await own.start();
  const label = `dev.leash.daemon=${own.socket}`;
  const ws = makeWorkspace({ '.env': 'SECRET=1\n' });
  const loop = `while :; do cat ${ws}/.env >/dev/null 2>&1 && echo LEAK >> ${ws}/leaks; touch ${ws}/alive; done`;
  const run = own.cliAsync(['run', '--workspace', ws, 'shell', '--', 'sh', '-c', loop]);
  try {
    await waitFor('the loop to run', () => fs.existsSync(path.join(ws, 'alive')));
    await sleep(300);
    kill(own);
    await waitFor('the sandbox to end', () => !sandboxRunning(label));
  } finally {
    run.kill('SIGTERM');
    await run.done;
    for (const id of dockerContainers(label)) spawnSync('docker', ['rm', '-f', id]);
    // A leashd started again on the same socket removes what the killed one pinned.
    if (own.process?.signalCode === 'SIGKILL') {
      const again = new TestDaemon();
      Object.assign(again, { socket: own.socket, stateDir: own.stateDir });
      await again.start();
      await again.stop();
    }
    await own.stop();
  }
  const leaks = path.join(ws, 'leaks');
  const count = fs.existsSync(leaks) ? fs.readFileSync(leaks, 'utf8').split('\n').length - 1 : 0;
  return { leaks: count, log: own.log };
}

describe('fail closed', { skip: sandboxSkip() }, () => {
  it('lets no denied read through while leashd dies (the keeper holds the fanotify group)', async () => {
    const r = await raceReads((own) => own.process?.kill('SIGKILL'));
    assert.equal(r.leaks, 0);
  });

  it('ends the session when its keeper is killed, and no denied read gets through', async () => {
    const r = await raceReads((own) => process.kill(keeperOf(own.process?.pid ?? 0), 'SIGKILL'));
    assert.equal(r.leaks, 0);
    assert.match(r.log, /the keeper ended; ending the session/);
  });

  it('lets no denied read through when leashd and the keeper are killed together', async () => {
    const r = await raceReads((own) => {
      const keeper = keeperOf(own.process?.pid ?? 0);
      own.process?.kill('SIGKILL');
      process.kill(keeper, 'SIGKILL');
    });
    assert.equal(r.leaks, 0);
  });
});
