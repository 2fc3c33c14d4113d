/**
 * open_ratio, exec_ratio and connect_ratio: the probe's loops in a Leash session (portable
 * backend: fanotify for opens, cgroup BPF for connects) against the same image started with a
 * plain `docker run` and the same bind mount, both running at once and asked in turn.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSeccompProfile } from '@leash/helper/dist/runtime/seccomp';
import { CLI, type TestDaemon } from '../support/leashd';
import { compiledExecRules, execRules, withPolicy } from './policies';
import { ProbeServer, type Timing } from './probe';
import { interleave, summarise, type Result } from './stats';

export const BENCH_LABEL = 'dev.leash.bench';
/** The label's value: this run's pid, so that a run removes its own containers only. */
export const BENCH_RUN = `${BENCH_LABEL}=${process.pid}`;
export const IMAGE = 'leash/base:latest';

export interface KernelSizes {
  openOps: number;
  firstFiles: number;
  readOnlyOps: number;
  execOps: number;
  connectOps: number;
  pairs: number;
  warmup: number;
  /** Upper bound for one metric's interleaved rounds. */
  budgetMs: number;
}

interface Variant {
  fileRules: number;
  connectRules: number;
  /** Exec forbids by path and by argument added to the policy (none: `exec-any` alone). */
  execForbids?: number;
  /** Connects per sample, as a share of `KernelSizes.connectOps` (default 1). */
  connectShare?: number;
  /** Which loops to time under this policy. */
  loops: Array<'open' | 'first' | 'read-only' | 'exec' | 'connect' | 'connect6'>;
}

/** Each variant is one session (its start costs seconds): the loops that need a policy of a
 *  given size share it. Connect rules do not touch opens or execs, nor file rules connects. */
const VARIANTS: Variant[] = [
  {
    fileRules: 10,
    connectRules: 10,
    loops: ['open', 'first', 'read-only', 'exec', 'connect', 'connect6'],
  },
  { fileRules: 1000, connectRules: 10, loops: ['open', 'first', 'read-only'] },
  { fileRules: 10_000, connectRules: 10, loops: ['open', 'first', 'read-only'] },
  // The kernel holds at most 64 Exec rules (LEASH_EXEC_MAX_RULES in bpf/src/exec.h). Connect
  // rules: forbids of v4 /24s and v6 /32s the probe never meets, filed by prefix in the kernel.
  // leashd judges each connect's audit row again in JavaScript, by a linear walk of the rules
  // (about 1 ms per connect at 10,000 rules), so it drains the events of one sample long after
  // the probe is done: a tenth of the connects keeps that within the run's time.
  {
    fileRules: 10,
    connectRules: 10_000,
    execForbids: 60,
    connectShare: 0.1,
    loops: ['exec', 'connect', 'connect6'],
  },
];

/** A line server in a Leash session: the probe, or `argv` (for the HTTPS client). */
export function sessionProbe(
  daemon: TestDaemon,
  policyFile: string,
  ws: string,
  argv = [`${ws}/probe`],
  name?: string,
): ProbeServer {
  const args = [CLI, '--socket', daemon.socket, 'run', '--policy', policyFile, '--workspace', ws];
  if (name) args.push('--name', name);
  return ProbeServer.spawn(`leash session (${path.basename(argv[0] ?? '')})`, process.execPath, [
    ...args,
    'shell',
    '--',
    ...argv,
  ]);
}

/** The same container a session gets (image, bind mount, capabilities, seccomp profile,
 *  cgroup namespace), started by `docker run` with no enforcement attached. */
export function plainProbe(ws: string, name: string, seccompFile: string): ProbeServer {
  fs.writeFileSync(seccompFile, JSON.stringify(sandboxSeccompProfile()));
  const caps = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETUID', 'SETGID', 'KILL'];
  const args = [
    ...['run', '-i', '--rm', '--name', name, '--label', BENCH_RUN],
    ...['--cap-drop', 'ALL', ...caps.flatMap((c) => ['--cap-add', c])],
    ...['--security-opt', 'no-new-privileges', '--security-opt', `seccomp=${seccompFile}`],
    ...['--cgroupns', 'private', '--pids-limit', '4096', '--network', 'bridge'],
    ...['-v', `${ws}:${ws}:rw`, '-w', ws, IMAGE, `${ws}/probe`],
  ];
  return ProbeServer.spawn('plain docker run', 'docker', args);
}

/** Removes every container this run started with `docker run` (sessions end with leashd). */
export function removeBenchContainers(): void {
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=${BENCH_RUN}`], {
    encoding: 'utf8',
  })
    .stdout.trim()
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

/** A directory of `n` empty files made on the host, so no container has opened them yet. */
function freshFiles(ws: string, tag: string, n: number): string {
  const dir = path.join(ws, `first-${tag}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `f${i}`), '');
  return dir;
}

export async function kernelBenchmarks(
  daemon: TestDaemon,
  ws: string,
  sizes: KernelSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  fs.writeFileSync(path.join(ws, 'target'), 'x\n');
  const results: Result[] = [];
  const seccompFile = path.join(daemon.dir, 'seccomp.json');
  const plain = plainProbe(ws, `leash-bench-plain-${process.pid}`, seccompFile);
  try {
    await plain.ready();
    for (const v of VARIANTS) {
      const forbids = v.execForbids ? `\n\n${execRules(v.execForbids)}` : '';
      const text = withPolicy(v.fileRules, v.connectRules, ws).text + forbids;
      const tag = `${v.fileRules}-${v.connectRules}-${v.execForbids ?? 0}`;
      const policyFile = path.join(daemon.dir, `bench-${tag}.cedar`);
      fs.writeFileSync(policyFile, text);
      // Exec rules come from the base and the forbids alone: counted on a small policy, since
      // compiling 10,000 statements once more takes seconds.
      const exec = v.loops.includes('exec')
        ? compiledExecRules(withPolicy(10, 10, ws).text + forbids, ws)
        : 0;
      const session = sessionProbe(daemon, policyFile, ws);
      try {
        await session.ready();
        for (const loop of v.loops) {
          results.push(
            await timeLoop(loop, { ...v, execRules: exec }, session, plain, ws, sizes, log),
          );
        }
      } finally {
        await session.close();
      }
    }
  } finally {
    await plain.close();
    removeBenchContainers();
  }
  return results;
}

async function timeLoop(
  loop: Variant['loops'][number],
  v: Variant & { execRules: number },
  session: ProbeServer,
  plain: ProbeServer,
  ws: string,
  sizes: KernelSizes,
  log: (line: string) => void,
): Promise<Result> {
  let round = 0;
  const connects = Math.max(100, Math.round(sizes.connectOps * (v.connectShare ?? 1)));
  let command: (side: string) => string;
  let name: string;
  let note: string;
  switch (loop) {
    case 'open':
      name = `open_ratio/cached/${v.fileRules}-rules`;
      command = () => `open ${ws}/target ${sizes.openOps}`;
      note = `open+close of one workspace file, ${sizes.openOps} per sample, after warm-up`;
      break;
    case 'first':
      name = `open_ratio/first-open/${v.fileRules}-rules`;
      command = (side) =>
        `first ${freshFiles(ws, `${side}-${round++}`, sizes.firstFiles)} ${sizes.firstFiles}`;
      note = `open+close of ${sizes.firstFiles} files made on the host just before, each once`;
      break;
    case 'read-only':
      // The allow cache holds only files allowed for reading and writing, so a file the policy
      // lets be read but not written (here: by `system-read`) is asked about at every open.
      name = `open_ratio/read-only/${v.fileRules}-rules`;
      command = () => `open /etc/passwd ${sizes.readOnlyOps}`;
      note = `open+close of /etc/passwd (readable, not writable), ${sizes.readOnlyOps} per sample`;
      break;
    case 'exec':
      name = v.execForbids
        ? `exec_ratio/path-and-args/${v.execRules}-exec-rules`
        : `exec_ratio/${v.fileRules}-rules`;
      command = () => `exec ${sizes.execOps}`;
      note =
        `fork+exec of /bin/true + wait, ${sizes.execOps} per sample, ${v.execRules} compiled ` +
        `Exec rules` +
        (v.execForbids ? ' (forbids by program path and by argument, none matching)' : '');
      break;
    case 'connect':
      name = `connect_ratio/v4/${v.connectRules}-rules`;
      command = () => `connect ${connects}`;
      note = `TCP connect+accept+close on 127.0.0.1, ${connects} per sample`;
      break;
    case 'connect6':
      // Neither container has IPv6 (Docker's default bridge), so each connect to [::1] is
      // decided by the connect6 hook and then refused by the stack (EADDRNOTAVAIL).
      name = `connect_ratio/v6/${v.connectRules}-rules`;
      command = () => `connect6 ${connects}`;
      note =
        `TCP connect to [::1]:9, decided by the connect6 hook then refused by the stack ` +
        `(no IPv6 in either container), ${connects} per sample`;
      break;
  }

  const started = Date.now();
  const ask = async (probe: ProbeServer, side: string): Promise<number[]> => {
    const t: Timing = await probe.run(command(side));
    return [t.meanNs, t.p99Ns];
  };
  const pairs = await interleave(
    sizes,
    () => ask(session, 'leash'),
    () => ask(plain, 'plain'),
  );
  fs.readdirSync(ws)
    .filter((f) => f.startsWith('first-'))
    .forEach((f) => fs.rmSync(path.join(ws, f), { recursive: true, force: true }));

  const side = (rows: number[][]) => ({
    samples: rows.map((r) => r[0] as number),
    p99s: rows.map((r) => r[1] as number),
  });
  const result = summarise(
    name,
    'ns/op',
    side(pairs.a),
    side(pairs.b),
    `${note}; p99 is per operation (median over samples of each sample's p99)`,
  );
  log(`${name}: ${result.ratio}x (${pairs.a.length} pairs, ${Date.now() - started} ms)`);
  return result;
}
