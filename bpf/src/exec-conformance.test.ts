/**
 * The kernel's exec verdicts (program path at the fanotify exec event, argv at
 * sched_process_exec) against the reference evaluator `decideExec`, on random rule sets and
 * random argument lists: a program runs exactly when the IR allows it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideExec } from '@leash/policies';
import type { ExecMatcher, ExecRule, PrincipalIR } from '@leash/policies/dist/ir';
import { ExecBed } from './exec-support';
import { requireKernel } from './kernel-test-support';
import { pick, seededRandom as random } from '@leash/policies/dist/random';

const WORDS = ['push', 'main', '--force', '-f', 'a b', 'x', ''];

function randomMatcher(next: () => number, dir: string): ExecMatcher {
  const negate = next() < 0.2;
  switch (Math.floor(next() * 4)) {
    case 0:
      return {
        on: 'program',
        path: pick(next, [
          { kind: 'prefix', value: `${dir}/bin` },
          { kind: 'exact', value: `${dir}/bin/git` },
          { kind: 'suffix', value: '/tool' },
          { kind: 'prefix', value: '/usr' },
        ] as const),
      };
    case 1: {
      const op = pick(next, ['contains', 'containsAll', 'containsAny'] as const);
      const count = op === 'contains' ? 1 : Math.floor(next() * 3);
      const values = Array.from({ length: count }, () => pick(next, WORDS));
      return { on: 'argv', op, values, negate };
    }
    default:
      return {
        on: 'args',
        match: pick(next, [
          { kind: 'like', parts: ['push ', ''], negate },
          { kind: 'like', parts: ['', ' main'], negate },
          { kind: 'like', parts: ['', 'a b', ''], negate },
          { kind: 'like', parts: ['', 'push', '-f', ''], negate },
          { kind: 'equals', value: 'x', negate },
          { kind: 'equals', value: '', negate },
        ] as const),
      };
  }
}

function randomRules(next: () => number, dir: string): ExecRule[] {
  return Array.from({ length: 1 + Math.floor(next() * 5) }, (_, i) => ({
    id: `r${i}`,
    effect: next() < 0.35 ? 'forbid' : 'permit',
    match: Array.from({ length: Math.floor(next() * 3) }, () => randomMatcher(next, dir)),
  }));
}

test('exec verdicts of the kernel equal decideExec on random rule sets', async (t) => {
  if (!requireKernel(t)) return;
  const bed = await ExecBed.start(() => []);
  t.after(() => bed.stop());
  const programs = [`${bed.dir}/bin/git`, `${bed.dir}/bin/tool`, `${bed.dir}/denied/tool`];
  programs.push('/usr/bin/true');

  const seen = { ran: 0, refused: 0, killed: 0 };
  for (let seed = 1; seed <= 30; seed++) {
    const next = random(seed);
    const rules = randomRules(next, bed.dir);
    bed.execGuard!.update(rules);
    const ir: PrincipalIR = {
      principal: 't',
      files: [],
      connects: [],
      exec: rules,
      http: [],
      mcp: [],
    };
    for (let i = 0; i < 8; i++) {
      const program = pick(next, programs);
      const argv = Array.from({ length: Math.floor(next() * 4) }, () => pick(next, WORDS));
      const expected = decideExec(ir, program, argv).decision;
      const outcome = await bed.run([program, ...argv]);
      if (outcome.ok) seen.ran++;
      else if (outcome.signal === 'SIGKILL') seen.killed++;
      else seen.refused++;
      const ran = outcome.ok ? 'allow' : 'deny';
      assert.equal(
        ran,
        expected,
        `seed ${seed}: ${program} ${JSON.stringify(argv)} ended ${JSON.stringify(outcome)} ` +
          `under ${JSON.stringify(rules)}`,
      );
      if (!outcome.ok) assert.ok(outcome.code === 'EPERM' || outcome.signal === 'SIGKILL');
    }
  }
  // Every way an exec can end was exercised.
  assert.ok(seen.ran > 20 && seen.refused > 20 && seen.killed > 20, JSON.stringify(seen));
});
