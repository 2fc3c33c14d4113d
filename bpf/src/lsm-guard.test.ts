/**
 * The lsm backend against the real kernel: the same random cases as the portable backend's
 * conformance suite, judged against the reference evaluator, then changes by path and execs.
 * Runs where BPF LSM takes effect (the test VM: test/vm/); elsewhere only the bounds case
 * runs, unless LEASH_REQUIRE_LSM=1 (set by the VM run) makes the missing backend an error.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { decideFile } from '@leash/policies';
import type { ExecRule, FileRule, PrincipalIR } from '@leash/policies/dist/ir';
import { seededRandom as random } from '@leash/policies/dist/random';
import { FILES, OPENS, randomFileRules, VerdictLog } from './conformance-cases';
import { LsmGuard, probeKernel, type LsmEvent } from './index';
import { adoptPinRoot, pinRoot } from './pins';
import { eventually, JsonChild, removeCgroup } from './kernel-test-support';

/**
 * Why the lsm backend cannot be tested here, or undefined when it can. LEASH_LSM_SKIP_PROBE=1
 * runs the tests without asking the probe, so that a kernel where programs load but block
 * nothing fails them; LEASH_REQUIRE_LSM=1 (the VM run) makes an unusable backend an error.
 */
function lsmAbsence(): string | undefined {
  if (process.env['LEASH_LSM_SKIP_PROBE'] === '1') return undefined;
  const why =
    process.getuid?.() !== 0
      ? 'needs root'
      : (() => {
          const lsm = probeKernel().lsm;
          return lsm.available ? undefined : `BPF LSM is unavailable here: ${lsm.reason}`;
        })();
  if (why !== undefined && process.env['LEASH_REQUIRE_LSM'] === '1') {
    throw new Error(`LEASH_REQUIRE_LSM=1 but the lsm backend ${why}`);
  }
  return why;
}

const absent = lsmAbsence();

/**
 * A case that needs a kernel where BPF LSM takes effect. Elsewhere (this build host) it is not
 * registered, rather than listed as a skip: the test VM runs this file (test/vm/lsm.test.ts,
 * which fails when the backend is missing there), and the host's run says so once.
 */
const lsmTest = absent === undefined ? test : (_name: string, _fn: unknown): void => undefined;
if (absent !== undefined) console.log(`# lsm kernel cases run in the test VM (${absent})`);

interface Bed {
  dir: string;
  cgroup: string;
  child: JsonChild;
  /** The fixture's pid. */
  pid: number;
  /** Closed after the test, before the child stops. */
  guard?: LsmGuard;
}

/**
 * A fixture in a fresh cgroup v2 directory and its own mount namespace, with a tmpfs at a
 * fresh directory; after the test: the guard closed, the child stopped, both removed.
 */
async function testBed(t: TestContext, fixture: string, args: string[] = []): Promise<Bed> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-lsm-'));
  const dir = path.join(base, 'mnt');
  fs.mkdirSync(dir);
  const cgroup = `/sys/fs/cgroup/unified/leash-lsm-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(cgroup);
  const child = new JsonChild('sh', [
    '-c',
    `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`,
    'sh',
    'unshare',
    '--mount',
    '--propagation',
    'private',
    process.execPath,
    path.join(__dirname, 'fixtures', fixture),
    dir,
    ...args,
  ]);
  const bed: Bed = { dir, cgroup, child, pid: 0 };
  t.after(async () => {
    bed.guard?.close();
    await child.stop();
    await removeCgroup(cgroup);
    fs.rmSync(base, { recursive: true, force: true });
  });
  bed.pid = (await child.next<{ pid: number }>()).pid;
  return bed;
}

function principal(files: FileRule[]): PrincipalIR {
  return { principal: 'test', files, connects: [], exec: [], http: [], mcp: [] };
}

const EVERYTHING: FileRule = { id: 'all', effect: 'permit', access: ['read', 'write'], match: [] };

lsmTest('LsmGuard decides opens like the reference evaluator on random rule sets', async (t) => {
  const bed = await testBed(t, 'opener.js', [JSON.stringify(FILES)]);
  const { dir, child } = bed;
  const guard = new LsmGuard({ cgroupPath: bed.cgroup, rules: [], onEvent: () => undefined });
  bed.guard = guard;

  const verdicts = new VerdictLog('lsm');
  for (let seed = 1; seed <= 25; seed++) {
    const rules = randomFileRules(random(seed), dir);
    guard.update(rules);
    const ir = principal(rules);
    for (const file of FILES) {
      for (const open of OPENS) {
        const full = `${dir}/${file}`;
        const allowed =
          (!open.read || decideFile(ir, full, 'read').decision === 'allow') &&
          (!open.write || decideFile(ir, full, 'write').decision === 'allow');
        const outcome = await child.ask({ op: 'open', path: full, flags: open.flags });
        verdicts.add(seed, open.flags, file, (outcome as { ok: boolean }).ok);
        const expected = allowed ? { ok: true } : { ok: false, code: 'EPERM' };
        assert.deepEqual(
          outcome,
          expected,
          `seed ${seed}: ${open.flags} ${file} under ${JSON.stringify(rules)}`,
        );
      }
    }
  }
  verdicts.save();
  assert.ok(guard.stats().denied > 0, 'no open was denied: the cases exercise nothing');
});

lsmTest(
  'a denied open really fails inside the cgroup, is reported, and leaves other tasks alone',
  async (t) => {
    const bed = await testBed(t, 'opener.js', [JSON.stringify(FILES)]);
    const { dir, child } = bed;
    const pid = bed.pid;
    const events: LsmEvent[] = [];
    const rules: FileRule[] = [
      EVERYTHING,
      {
        id: 'no-env',
        effect: 'forbid',
        access: ['read'],
        match: [{ kind: 'suffix', value: '.env' }],
      },
    ];
    const guard = new LsmGuard({ cgroupPath: bed.cgroup, rules, onEvent: (e) => events.push(e) });
    bed.guard = guard;

    assert.deepEqual(await child.ask({ op: 'open', path: `${dir}/c/.env` }), {
      ok: false,
      code: 'EPERM',
    });
    assert.deepEqual(await child.ask({ op: 'open', path: `${dir}/c/w.txt` }), { ok: true });
    // The same file, from this process (outside the cgroup), through the child's mounts.
    assert.equal(fs.readFileSync(`/proc/${pid}/root${dir}/c/.env`, 'utf8'), 'content\n');

    const denial = await eventually('the denial event', () =>
      events.find((e) => e.decision === 'deny'),
    );
    assert.equal(denial.path, `${dir}/c/.env`);
    assert.equal(denial.access, 'read');
    assert.equal(denial.comm, 'node');

    guard.update(rules, [], { enforce: false });
    assert.deepEqual(await child.ask({ op: 'open', path: `${dir}/c/.env` }), { ok: true });
    await eventually('the would-deny event', () => events.find((e) => e.decision === 'would-deny'));
  },
);

lsmTest(
  'changes by path are judged as WriteFile, and a protected directory cannot be moved away',
  async (t) => {
    const bed = await testBed(t, 'lsm-actor.js');
    const { dir, child } = bed;
    bed.guard = new LsmGuard({
      cgroupPath: bed.cgroup,
      rules: [
        EVERYTHING,
        {
          id: 'keep',
          effect: 'forbid',
          access: ['write'],
          match: [{ kind: 'prefix', value: `${dir}/keep/deep` }],
        },
        {
          id: 'no-reading-keep',
          effect: 'forbid',
          access: ['read'],
          match: [{ kind: 'prefix', value: `${dir}/keep` }],
        },
        {
          id: 'top',
          effect: 'forbid',
          access: ['write'],
          match: [{ kind: 'exact', value: `${dir}/top.txt` }],
        },
      ],
      onEvent: () => undefined,
    });
    const denied = { ok: false, code: 'EPERM' };
    const cases: Array<[object, object]> = [
      [{ op: 'rename', path: `${dir}/free/a.txt`, to: `${dir}/free/c.txt` }, { ok: true }],
      [{ op: 'rename', path: `${dir}/free/b.txt`, to: `${dir}/top.txt` }, denied],
      [{ op: 'rename', path: `${dir}/top.txt`, to: `${dir}/free/top.txt` }, denied],
      [{ op: 'rename', path: `${dir}/keep`, to: `${dir}/moved` }, denied],
      [{ op: 'rename', path: `${dir}/keep/deep/secret.txt`, to: `${dir}/free/s.txt` }, denied],
      [{ op: 'unlink', path: `${dir}/top.txt` }, denied],
      [{ op: 'unlink', path: `${dir}/free/c.txt` }, { ok: true }],
      [{ op: 'truncate', path: `${dir}/top.txt` }, denied],
      [{ op: 'truncate', path: `${dir}/free/b.txt` }, { ok: true }],
      [{ op: 'mkdir', path: `${dir}/keep/deep/new` }, denied],
      [{ op: 'mkdir', path: `${dir}/keep/new` }, { ok: true }],
      [{ op: 'rmdir', path: `${dir}/keep/new` }, { ok: true }],
      [{ op: 'symlink', path: `${dir}/keep/deep/link`, to: '/etc' }, denied],
      [{ op: 'open', path: `${dir}/keep/deep/created.txt`, flags: 'w' }, denied],
      [{ op: 'open', path: `${dir}/keep/deep/secret.txt`, flags: 'r' }, denied],
      [{ op: 'open', path: `${dir}/free/b.txt`, flags: 'r' }, { ok: true }],
      // Directories are not files: listing one is not a ReadFile (as in the portable backend).
      [{ op: 'open', path: `${dir}/keep`, flags: 'r' }, { ok: true }],
    ];
    for (const [request, expected] of cases) {
      assert.deepEqual(await child.ask(request), expected, JSON.stringify(request));
    }
  },
);

lsmTest(
  'a denied program fails to exec with EPERM, and the dynamic loader cannot map it',
  async (t) => {
    const bed = await testBed(t, 'lsm-actor.js');
    const { dir, child } = bed;
    const execRules: ExecRule[] = [
      { id: 'run-anything', effect: 'permit', match: [] },
      {
        id: 'not-that',
        effect: 'forbid',
        match: [{ on: 'program', path: { kind: 'exact', value: `${dir}/bin/denied` } }],
      },
    ];
    const guard = new LsmGuard({
      cgroupPath: bed.cgroup,
      rules: [EVERYTHING],
      execRules,
      onEvent: () => undefined,
    });
    bed.guard = guard;

    assert.deepEqual(await child.ask({ op: 'exec', path: `${dir}/bin/tool` }), { ok: true });
    assert.deepEqual(await child.ask({ op: 'exec', path: `${dir}/bin/denied` }), {
      ok: false,
      code: 'EPERM',
    });
    assert.deepEqual(await child.ask({ op: 'loader', path: `${dir}/bin/tool` }), { ok: true });
    assert.deepEqual(await child.ask({ op: 'loader', path: `${dir}/bin/denied` }), {
      ok: false,
      code: 'exit 127',
    });

    // No permit for programs at all: default deny.
    guard.update([EVERYTHING], [execRules[1]!]);
    assert.deepEqual(await child.ask({ op: 'exec', path: `${dir}/bin/tool` }), {
      ok: false,
      code: 'EPERM',
    });
  },
);

lsmTest('the lsm probe picks the lsm backend where its denial takes effect', (t) => {
  const probe = probeKernel();
  assert.match(probe.lsm.reason, /denial takes effect/);
  // The backend also needs the shared cgroup and exec programs.
  assert.equal(probe.backend, probe.cgroupBpf.available ? 'lsm' : 'none', probe.reason);
});

test('LsmGuard refuses rule sets past its bounds, naming the rule, before loading anything', () => {
  const make =
    (rules: FileRule[], execRules: ExecRule[] = []) =>
    () =>
      new LsmGuard({ cgroupPath: '/nonexistent', rules, execRules, onEvent: () => undefined });
  const suffix = (value: string): FileRule => ({
    id: 'long-suffix',
    effect: 'forbid',
    access: ['read'],
    match: [{ kind: 'suffix', value }],
  });

  assert.throws(make([suffix('x'.repeat(65))]), /file rule 0 \(long-suffix\).*64 bytes/);
  const many = Array.from({ length: 65 }, (_, i) => ({ ...EVERYTHING, id: `r${i}` }));
  assert.throws(make(many), RangeError);
  const matcher = { kind: 'prefix', value: '/a' } as const;
  assert.throws(
    make([{ ...EVERYTHING, id: 'wide', match: [matcher, matcher, matcher, matcher, matcher] }]),
    /file rule 0 \(wide\) has 5 path matchers/,
  );
  assert.throws(
    make([], [{ id: 'odd', effect: 'permit', match: [{ on: 'env' } as never] }]),
    /exec rule 0 \(odd\): unknown exec matcher `env`/,
  );
});

lsmTest(
  'pinned hooks keep refusing after their loader is killed, until the pins are removed',
  async (t) => {
    const bed = await testBed(t, 'opener.js');
    const file = `${bed.dir}/ro.txt`;
    const daemonId = `/test/leash-lsm-pin-${crypto.randomBytes(4).toString('hex')}.sock`;
    const loader = new JsonChild(process.execPath, [
      path.join(__dirname, 'fixtures', 'pinned-lsm.js'),
      daemonId,
      bed.cgroup,
      file,
    ]);
    t.after(async () => {
      await loader.stop();
      adoptPinRoot(daemonId);
      fs.rmdirSync(pinRoot() ?? '');
    });
    const { pinDir } = await loader.next<{ pinDir: string }>();
    const read = () =>
      bed.child.ask<{ ok: boolean; code?: string }>({ op: 'open', path: file, flags: 'r' });
    assert.deepEqual(await read(), { ok: false, code: 'EPERM' });

    loader.process.kill('SIGKILL');
    await new Promise((resolve) => loader.process.once('exit', resolve));
    assert.equal(fs.readdirSync(pinDir).length, 11, 'one pin per hook');
    assert.deepEqual(await read(), { ok: false, code: 'EPERM' });

    // A restarted leashd of the same id removes what its dead predecessor pinned.
    assert.deepEqual(adoptPinRoot(daemonId), [path.dirname(pinDir)]);
    // Removing a pin detaches its hook with a short delay.
    let outcome = await read();
    for (let i = 0; i < 100 && !outcome.ok; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      outcome = await read();
    }
    assert.deepEqual(outcome, { ok: true });
  },
);

lsmTest('a principal added to the guard is judged by its own rules, in its own slot', async (t) => {
  const agent = await testBed(t, 'opener.js');
  const other = await testBed(t, 'opener.js');
  const events: LsmEvent[] = [];
  const guard = new LsmGuard({
    cgroupPath: agent.cgroup,
    rules: [EVERYTHING, forbidReadOf('no-ro', '/ro.txt')],
    onEvent: (e) => events.push(e),
  });
  agent.guard = guard;
  const slot = guard.addPrincipal(other.cgroup, [EVERYTHING]);
  assert.equal(slot, 1);
  const read = (bed: Bed, name: string) =>
    bed.child.ask<{ ok: boolean; code?: string }>({
      op: 'open',
      path: `${bed.dir}/${name}`,
      flags: 'r',
    });

  assert.deepEqual(await read(agent, 'ro.txt'), { ok: false, code: 'EPERM' });
  assert.deepEqual(await read(other, 'ro.txt'), { ok: true });

  // The principal's rules change alone.
  guard.update([EVERYTHING, forbidReadOf('no-secret', '.secret')], [], {}, slot);
  assert.deepEqual(await read(other, 'a.secret'), { ok: false, code: 'EPERM' });
  assert.deepEqual(await read(agent, 'a.secret'), { ok: true });
  assert.deepEqual(await read(agent, 'ro.txt'), { ok: false, code: 'EPERM' });
  const denial = await eventually("the principal's denial event", () =>
    events.find((e) => e.path === `${other.dir}/a.secret`),
  );
  assert.equal(denial.slot, slot);
  assert.equal(events.find((e) => e.path === `${agent.dir}/ro.txt`)?.slot, 0);

  assert.throws(() => guard.update([EVERYTHING], [], {}, 5), /no slot 5/);
});

/** A forbid on reading paths that end in `suffix`. */
function forbidReadOf(id: string, suffix: string): FileRule {
  return {
    id,
    effect: 'forbid',
    access: ['read'],
    match: [{ kind: 'suffix', value: suffix, negate: false }],
  };
}
