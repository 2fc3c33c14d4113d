import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecRule } from '@leash/policies/dist/ir';
import { ExecGuard, execRulesUnenforceable } from './exec-guard';
import { ExecBed, LOADER } from './exec-support';
import { eventually, requireKernel } from './kernel-test-support';

function program(kind: 'exact' | 'prefix', value: string) {
  return { on: 'program' as const, path: { kind, value } };
}

function rulesFor(dir: string): ExecRule[] {
  const git = program('exact', `${dir}/bin/git`);
  return [
    { id: 'system', effect: 'permit', match: [program('prefix', '/usr')] },
    { id: 'bin', effect: 'permit', match: [program('prefix', `${dir}/bin`)] },
    { id: 'scripts', effect: 'permit', match: [program('prefix', `${dir}/scripts`)] },
    {
      id: 'no-force',
      effect: 'forbid',
      match: [git, { on: 'argv', op: 'containsAny', values: ['--force', '-f'] }],
    },
    {
      id: 'no-push-main',
      effect: 'forbid',
      match: [git, { on: 'args', match: { kind: 'like', parts: ['push ', ' main'] } }],
    },
    {
      id: 'scripts-not-bad',
      effect: 'forbid',
      match: [
        program('prefix', `${dir}/scripts`),
        { on: 'args', match: { kind: 'like', parts: ['', 'bad', ''] } },
      ],
    },
    {
      id: 'echo-says-ok',
      effect: 'forbid',
      match: [
        program('exact', `${dir}/bin/echo`),
        { on: 'argv', op: 'contains', values: ['ok'], negate: true },
      ],
    },
  ];
}

const KILLED = { ok: false, status: null, signal: 'SIGKILL' };

test('ExecGuard and FileGuard decide execs by program path and by argv', async (t) => {
  if (!requireKernel(t)) return;
  const bed = await ExecBed.start(rulesFor);
  t.after(() => bed.stop());
  const { dir } = bed;
  // How a run ended, without what it printed.
  const run = async (command: string[], argv0?: string) => {
    const { stdout: _printed, ...ended } = await bed.run(command, argv0);
    return ended;
  };
  const ran = { ok: true, status: 0, signal: null };

  await t.test('a program a permit names runs', async () => {
    assert.deepEqual(await run([`${dir}/bin/tool`]), ran);
  });

  await t.test('a program no permit names fails at exec with EPERM and is reported', async () => {
    assert.deepEqual(await run([`${dir}/denied/tool`, 'x y']), { ok: false, code: 'EPERM' });
    const e = await eventually('the exec event', () =>
      bed.fileEvents.find((f) => f.access === 'exec' && f.path === `${dir}/denied/tool`),
    );
    assert.equal(e.decision, 'deny');
    assert.deepEqual(e.argv, [`${dir}/denied/tool`, 'x y']);
  });

  await t.test('a symlink is judged as the program it leads to', async () => {
    assert.deepEqual(await run([`${dir}/bin/link-to-denied`]), { ok: false, code: 'EPERM' });
  });

  await t.test('a copy is judged by its own path', async () => {
    assert.deepEqual(await run([`${dir}/bin/copy-of-denied`]), ran);
  });

  await t.test('an argv a forbid names kills the program before it runs', async () => {
    assert.deepEqual(await run([`${dir}/bin/git`, 'push', '--force']), KILLED);
    assert.deepEqual(await run([`${dir}/bin/git`, '-f']), KILLED);
    assert.deepEqual(await run([`${dir}/bin/git`, 'status']), ran);
    const e = await eventually('the argv event', () =>
      bed.execEvents.find((x) => x.argv.includes('--force')),
    );
    assert.equal(e.decision, 'deny');
    assert.deepEqual(e.argv, [`${dir}/bin/git`, 'push', '--force']);
    assert.equal(e.program, `${dir}/bin/git`);
  });

  await t.test('args like is judged on argv[1..] joined by spaces, however split', async () => {
    assert.deepEqual(await run([`${dir}/bin/git`, 'push', 'origin', 'main']), KILLED);
    assert.deepEqual(await run([`${dir}/bin/git`, 'push origin', 'main']), KILLED);
    assert.deepEqual(await run([`${dir}/bin/git`, 'push', 'origin', 'dev']), ran);
    assert.deepEqual(await run([`${dir}/bin/git`, 'pushy', 'main']), ran);
  });

  await t.test('a negated contains holds when the value is absent', async () => {
    const ok = await bed.run([`${dir}/bin/echo`, 'ok']);
    assert.equal(ok.stdout, 'ok\n');
    assert.deepEqual(await run([`${dir}/bin/echo`, 'nope']), KILLED);
    assert.deepEqual(await run([`${dir}/bin/echo`, 'ok now']), KILLED);
  });

  await t.test('argv[0] (exec -a) changes no verdict', async () => {
    assert.deepEqual(await run([`${dir}/bin/git`, 'status'], '--force'), ran);
    assert.deepEqual(await run([`${dir}/bin/git`, '--force'], 'git'), KILLED);
    assert.deepEqual(await run([`${dir}/denied/tool`], `${dir}/bin/tool`), {
      ok: false,
      code: 'EPERM',
    });
  });

  await t.test('a script runs when it and its interpreter are permitted', async () => {
    assert.deepEqual(await run([`${dir}/scripts/ok.sh`]), ran);
    assert.deepEqual(await run([`${dir}/scripts/via-denied.sh`]), { ok: false, code: 'EPERM' });
  });

  await t.test("a script's argv rules see the script's own arguments", async () => {
    assert.deepEqual(await run([`${dir}/scripts/ok.sh`, 'good']), ran);
    assert.deepEqual(await run([`${dir}/scripts/ok.sh`, 'x', 'bad']), KILLED);
    assert.deepEqual(await run([`${dir}/scripts/with-arg.sh`, 'good']), ran);
    assert.deepEqual(await run([`${dir}/scripts/with-arg.sh`, 'bad']), KILLED);
    const e = await eventually('the script event', () =>
      bed.execEvents.find((x) => x.script === `${dir}/scripts/with-arg.sh`),
    );
    assert.equal(e.program, '/usr/bin/dash');
  });

  await t.test(
    'a script run through another script is unknown, so argv rules deny it',
    async () => {
      assert.deepEqual(await run([`${dir}/scripts/nested.sh`, 'good']), KILLED);
    },
  );

  await t.test('the dynamic loader run directly is killed while exec is narrowed', async () => {
    assert.deepEqual(await run([LOADER, `${dir}/denied/tool`]), KILLED);
    assert.deepEqual(await run([LOADER, `${dir}/bin/tool`]), KILLED);
    const e = await eventually('the loader event', () => bed.execEvents.find((x) => x.loader));
    assert.equal(e.decision, 'deny');
  });

  await t.test('a program no path record names (a memfd) is judged as unknown', async () => {
    const memfdExec =
      'my $name = "m"; my $fd = syscall(319, $name, 0); open(my $o, ">&=", $fd) or die; ' +
      'open(my $i, "<", $ARGV[0]) or die; binmode $i; local $/; print {$o} readline($i); ' +
      '$o->flush; exec { "/proc/self/fd/$fd" } "m" or die';
    assert.deepEqual(await run(['/usr/bin/perl', '-e', memfdExec, '/bin/true']), KILLED);
    assert.ok(bed.execEvents.some((x) => x.unknownProgram && x.decision === 'deny'));
  });

  await t.test('argv past the bounds is a violation only where argv rules apply', async () => {
    const many = Array.from({ length: 70 }, (_, i) => `a${i}`);
    assert.deepEqual(await run([`${dir}/bin/git`, ...many]), KILLED);
    assert.deepEqual(await run([`${dir}/bin/tool`, ...many]), ran);
    const long = ['x'.repeat(5000)];
    assert.deepEqual(await run([`${dir}/bin/git`, ...long]), KILLED);
    assert.deepEqual(await run([`${dir}/bin/tool`, ...long]), ran);
    assert.ok(bed.execEvents.some((x) => x.overflow));
  });

  await t.test('an update swaps the rules at once', async () => {
    const relaxed = rulesFor(dir).filter((r) => r.id !== 'no-force');
    bed.execGuard!.update(relaxed);
    assert.deepEqual(await run([`${dir}/bin/git`, '--force']), ran);
    bed.execGuard!.update(rulesFor(dir));
    assert.deepEqual(await run([`${dir}/bin/git`, '--force']), KILLED);
  });

  await t.test('execs outside the cgroup are never judged', async () => {
    const before = bed.execEvents.length;
    const { spawnSync } = await import('node:child_process');
    assert.equal(spawnSync('/bin/true').status, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(bed.execEvents.length, before);
  });
});

test('with quietAllowed, allowed execs are reported by close() at the latest', async (t) => {
  if (!requireKernel(t)) return;
  const bed = await ExecBed.start(() => []);
  t.after(() => bed.stop());
  bed.execGuard!.update([{ id: 'any', effect: 'permit', match: [] }], { quietAllowed: true });
  assert.equal((await bed.run([`${bed.dir}/bin/tool`, 'quiet'])).ok, true);
  bed.fileGuard!.close();
  bed.execGuard!.close();
  const e = bed.execEvents.find((x) => x.argv.includes('quiet'));
  assert.equal(e?.decision, 'allow');
  assert.equal(e?.program, `${bed.dir}/bin/tool`);
});

test('a trusted program runs whatever the rules say; nothing else does', async (t) => {
  if (!requireKernel(t)) return;
  const everything = [{ id: 'nothing', effect: 'forbid' as const, match: [] }];
  const bed = await ExecBed.start(
    () => everything,
    (dir) => [`${dir}/bin/tool`],
  );
  t.after(() => bed.stop());
  assert.equal((await bed.run([`${bed.dir}/bin/tool`, '--any'])).ok, true);
  assert.deepEqual(await bed.run([`${bed.dir}/bin/git`]), { ok: false, code: 'EPERM' });
});

test('exec rules past the kernel bounds are refused, naming the policy', async (t) => {
  const tooMany: ExecRule[] = [
    {
      id: 'wide',
      effect: 'permit',
      match: [{ on: 'argv', op: 'containsAny', values: Array.from({ length: 9 }, String) }],
    },
  ];
  assert.match(execRulesUnenforceable(tooMany) ?? '', /policy wide: containsAny of 9 values/);
  const longPart: ExecRule[] = [
    {
      id: 'long',
      effect: 'forbid',
      match: [{ on: 'args', match: { kind: 'equals', value: 'y'.repeat(65) } }],
    },
  ];
  assert.match(execRulesUnenforceable(longPart) ?? '', /policy long: the args text/);
  const splitAll: ExecRule[] = [
    {
      id: 'all',
      effect: 'forbid',
      match: [{ on: 'argv', op: 'containsAll', values: Array.from({ length: 20 }, String) }],
    },
  ];
  assert.equal(execRulesUnenforceable(splitAll), undefined);

  if (!requireKernel(t)) return;
  const bed = await ExecBed.start(() => []);
  t.after(() => bed.stop());
  assert.throws(() => bed.execGuard!.update(tooMany), /exec rule 0 \(wide\): containsAny/);
  assert.throws(() => bed.execGuard!.update(longPart), /exec rule 0 \(long\)/);
  bed.execGuard!.update(splitAll);
  assert.ok(bed.execGuard instanceof ExecGuard);
});
