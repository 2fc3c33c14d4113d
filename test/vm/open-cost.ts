/**
 * Runs inside the test VM (test/vm/lsm.test.ts starts it): the cost of open+close of one file
 * by a task in a cgroup, with no enforcement and with LsmGuard judging that cgroup by a
 * policy-sized rule set, in the same VM. Writes the figures as JSON to the path given.
 *
 *   node test/dist/vm/open-cost.js PROBE OUT.json
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { LsmGuard } from '@leash/bpf';
import type { ExecRule, FileRule } from '@leash/policies/dist/ir';
import { ProbeServer } from '../bench/probe';

const [probePath, out] = process.argv.slice(2);
if (probePath === undefined || out === undefined) {
  throw new Error('usage: open-cost PROBE OUT.json');
}
const OPS = 50_000;
const EXECS = 300;
const ROUNDS = 3;
/** Exec rules of a common shape: programs from the system directories, one program refused. */
const EXEC_RULES: ExecRule[] = [
  {
    id: 'system',
    effect: 'permit',
    match: [{ on: 'program', path: { kind: 'prefix', value: '/usr' } }],
  },
  {
    id: 'bin',
    effect: 'permit',
    match: [{ on: 'program', path: { kind: 'prefix', value: '/bin' } }],
  },
  {
    id: 'no-push',
    effect: 'forbid',
    match: [{ on: 'program', path: { kind: 'exact', value: '/usr/bin/git' } }],
  },
];

// The shape of the default policy: reads everywhere, writes in the workspace and /tmp,
// secrets and git hooks forbidden.
const work = fs.mkdtempSync('/tmp/leash-open-cost-');
const file = `${work}/src/main.ts`;
fs.mkdirSync(`${work}/src`);
fs.writeFileSync(file, 'export {};\n');
const rules: FileRule[] = [
  {
    id: 'system-read',
    effect: 'permit',
    access: ['read'],
    match: [{ kind: 'prefix', value: '/' }],
  },
  {
    id: 'workspace',
    effect: 'permit',
    access: ['read', 'write'],
    match: [{ kind: 'prefix', value: work }],
  },
  {
    id: 'tmp',
    effect: 'permit',
    access: ['read', 'write'],
    match: [{ kind: 'prefix', value: '/tmp' }],
  },
  {
    id: 'env-files',
    effect: 'forbid',
    access: ['read', 'write'],
    match: [{ kind: 'suffix', value: '.env' }],
  },
  {
    id: 'git-hooks',
    effect: 'forbid',
    access: ['write'],
    match: [{ kind: 'prefix', value: `${work}/.git/hooks` }],
  },
  {
    id: 'leash-dir',
    effect: 'forbid',
    access: ['write'],
    match: [{ kind: 'prefix', value: `${work}/.leash` }],
  },
  {
    id: 'ssh',
    effect: 'forbid',
    access: ['read'],
    match: [{ kind: 'prefix', value: '/root/.ssh' }],
  },
  {
    id: 'etc-write',
    effect: 'forbid',
    access: ['write'],
    match: [{ kind: 'prefix', value: '/etc' }],
  },
];

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const cgroup = `/sys/fs/cgroup/unified/leash-open-cost-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(cgroup);
  const probe = ProbeServer.spawn('probe', 'sh', [
    '-c',
    `echo $$ > ${cgroup}/cgroup.procs && exec "$0"`,
    probePath!,
  ]);
  await probe.ready();

  const plain: number[] = [];
  const judged: number[] = [];
  const execPlain: number[] = [];
  const execJudged: number[] = [];
  let guard: LsmGuard | undefined;
  try {
    await probe.run(`open ${file} ${OPS}`); // warm the dentry cache
    await probe.run(`exec ${EXECS}`, 300_000); // and the emulator's translation of exec's path
    for (let round = 0; round < ROUNDS; round++) {
      plain.push((await probe.run(`open ${file} ${OPS}`, 300_000)).meanNs);
      guard = new LsmGuard({ cgroupPath: cgroup, rules, onEvent: () => undefined });
      judged.push((await probe.run(`open ${file} ${OPS}`, 300_000)).meanNs);
      const stats = guard.stats();
      if (stats.allowed < OPS)
        throw new Error(`the guard judged ${stats.allowed} opens, not ${OPS}`);
      guard.close();
      guard = undefined;
      execPlain.push((await probe.run(`exec ${EXECS}`, 300_000)).meanNs);
      guard = new LsmGuard({
        cgroupPath: cgroup,
        rules,
        execRules: EXEC_RULES,
        onEvent: () => undefined,
      });
      execJudged.push((await probe.run(`exec ${EXECS}`, 300_000)).meanNs);
      guard.close();
      guard = undefined;
    }
  } finally {
    guard?.close();
    await probe.close();
    fs.rmdirSync(cgroup);
    fs.rmSync(work, { recursive: true, force: true });
  }

  const result = {
    what: 'open+close of one workspace file by a task in a judged cgroup, inside the test VM (QEMU tcg)',
    kernel: os.release(),
    ops: OPS,
    rounds: ROUNDS,
    rules: rules.length,
    plainNs: median(plain),
    lsmNs: median(judged),
    ratio: Number((median(judged) / median(plain)).toFixed(3)),
    exec: {
      what: 'fork + execve(/bin/true) + wait, the exec and mmap hooks judging 3 exec rules',
      ops: EXECS,
      plainNs: median(execPlain),
      lsmNs: median(execJudged),
      ratio: Number((median(execJudged) / median(execPlain)).toFixed(3)),
    },
  };
  fs.writeFileSync(out!, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`open-cost: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
