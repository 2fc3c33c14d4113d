/**
 * memory_mb: resident memory (VmRSS from /proc/PID/status) of leashd idle and with 10 running
 * sessions, against a bare `node -e` process that only waits, read in turn with leashd's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LeashClient } from '@leash/helper/dist/cli/client';
import { sleep, type TestDaemon } from '../support/leashd';
import { withPolicy } from './policies';
import { interleave, summarise, type Result } from './stats';

export interface MemorySizes {
  sessions: number;
  /** Readings per side, `intervalMs` apart. */
  readings: number;
  intervalMs: number;
}

export interface Resident {
  /** VmRSS: resident now. */
  rssMb: number;
  /** VmHWM: the most it has been resident. */
  hwmMb: number;
}

/** VmRSS and VmHWM of a live process, in MB (1,048,576 bytes). */
export function residentOf(pid: number): Resident {
  const file = `/proc/${pid}/status`;
  let status: string;
  try {
    status = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file} (has process ${pid} exited?): ${(err as Error).message}`);
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`${file} has no ${field} line`);
    return Number(m[1]) / 1024;
  };
  return { rssMb: kb('VmRSS'), hwmMb: kb('VmHWM') };
}

/** A Node process that does nothing: what any Node program costs before its own work. */
export class IdleNode {
  private readonly child: ChildProcess = spawn(
    process.execPath,
    ['-e', 'setInterval(() => {}, 1 << 30)'],
    { stdio: 'ignore' },
  );

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the idle node process did not start');
    return this.child.pid;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Reads `measured` and the idle Node process in turn, `readings` times each; the result's
 *  p99 fields are the largest VmRSS read, and the note gives VmHWM at the end. */
export async function compareResident(
  name: string,
  measured: number,
  idle: IdleNode,
  sizes: MemorySizes,
  note: string,
): Promise<Result> {
  const read = async (pid: number): Promise<number[]> => {
    await sleep(sizes.intervalMs);
    return [residentOf(pid).rssMb];
  };
  const pairs = await interleave(
    { pairs: sizes.readings, warmup: 0, budgetMs: sizes.readings * sizes.intervalMs * 4 },
    () => read(measured),
    () => read(idle.pid),
  );
  const mb = (rows: number[][]) => ({ samples: rows.map((r) => r[0] as number) });
  const hwm = residentOf(measured).hwmMb.toFixed(1);
  return summarise(
    name,
    'MB',
    mb(pairs.a),
    mb(pairs.b),
    `${note}; VmRSS read ${pairs.a.length} times ${sizes.intervalMs} ms apart (p99: the most ` +
      `read), VmHWM ${hwm} MB; baseline: an idle \`node -e\` process`,
  );
}

/** leashd's pid: the TestDaemon's own child process. */
function leashdPid(daemon: TestDaemon): number {
  const pid = daemon.process?.pid;
  if (pid === undefined) throw new Error('the bench leashd is not running');
  return pid;
}

/** memory_mb/leashd/idle and memory_mb/leashd/N-sessions (N sessions running `sleep`). */
export async function leashdMemory(
  daemon: TestDaemon,
  ws: string,
  sizes: MemorySizes,
  log: (line: string) => void,
): Promise<Result[]> {
  const idle = new IdleNode();
  const pid = leashdPid(daemon);
  const results: Result[] = [];
  const policyFile = path.join(daemon.dir, 'bench-memory.cedar');
  fs.writeFileSync(policyFile, withPolicy(10, 10, ws).text);
  const names = Array.from({ length: sizes.sessions }, (_, i) => `bench-mem-${i}-${process.pid}`);
  const runs: Array<ReturnType<TestDaemon['cliAsync']>> = [];
  const client = new LeashClient(daemon.socket);
  try {
    results.push(
      await compareResident('memory_mb/leashd/idle', pid, idle, sizes, 'leashd with no session'),
    );
    log(`${results[0]?.name}: ${results[0]?.value} MB`);
    for (const name of names) {
      runs.push(
        daemon.cliAsync([
          ...['run', '--name', name, '--policy', policyFile, '--workspace', ws],
          ...['shell', '--', 'sleep', '600'],
        ]),
      );
    }
    await allRunning(client, names);
    const busy = await compareResident(
      `memory_mb/leashd/${sizes.sessions}-sessions`,
      pid,
      idle,
      sizes,
      `leashd with ${sizes.sessions} running sessions (10 file rules each, running sleep)`,
    );
    log(`${busy.name}: ${busy.value} MB`);
    results.push(busy);
  } finally {
    client.close();
    idle.stop();
    // Stopped all at once: one by one, the CLI's start-up alone adds seconds per session.
    await Promise.all(names.map((name) => daemon.cliAsync(['stop', name]).done));
    await Promise.race([Promise.all(runs.map((r) => r.done)), sleep(30_000)]);
    for (const r of runs) if (r.exitCode === null) r.kill('SIGKILL');
  }
  return results;
}

async function allRunning(client: LeashClient, names: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  let running = 0;
  while (Date.now() < deadline) {
    const r = await client.call<{ sessions: Array<{ name: string; state: string }> }>(
      'listSessions',
      {},
    );
    running = names.filter((n) =>
      r.sessions.some((s) => s.name === n && s.state === 'running'),
    ).length;
    if (running === names.length) return;
    await sleep(250);
  }
  throw new Error(`only ${running} of ${names.length} sessions were running after 120 s`);
}
