/**
 * Exec conformance through the product: random Cedar Exec policies, real sessions, real execs,
 * and Cedar itself (cedar-wasm, through the policies oracle) as the judge of what should run.
 * `LEASH_TEST_RUNTIME=process` runs the same cases in process sandboxes (docs/runtimes.md).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { authorize } from '@leash/policies';
import {
  forRuntime,
  RUNTIME_FLAGS,
  RUNTIME_HOME,
  runtimeSkip,
  TEST_RUNTIME,
} from '../support/process-runtime';
import { makeWorkspace, TestDaemon } from '../support/leashd';
import { pick, seededRandom as random } from '@leash/policies/dist/random';

const FILES = `
@id("system-read")
permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/");

@id("workspace-rw")
permit (
  principal,
  action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
  resource in Leash::Dir::"@workspace"
);

@id("dev-null")
permit (principal, action == Leash::Action::"WriteFile", resource == Leash::File::"/dev/null");

@id("shell")
permit (principal, action == Leash::Action::"Exec", resource == Leash::File::"/usr/bin/dash");
`;

const WORDS = ['a', 'b', 'b c', '--x', ''];

/** A random Exec policy; its scope always names programs, so the session's shell is spared. */
function randomPolicy(next: () => number, i: number): string {
  const resource = pick(next, [
    'resource == Leash::File::"/usr/bin/echo"',
    'resource == Leash::File::"/usr/bin/true"',
    'resource in Leash::Dir::"@workspace"',
    'resource in Leash::Dir::"/usr/bin/nothing-here"',
  ]);
  const condition = pick(next, [
    '',
    'context.argv.contains("a")',
    'context.argv.containsAny(["b c", "--x"])',
    'context.argv.containsAll(["a", "b"])',
    'context.args like "a*"',
    'context.args like "*b c*"',
    'context.args == ""',
  ]);
  const clause = condition === '' ? '' : ` ${pick(next, ['when', 'unless'])} { ${condition} }`;
  const effect = next() < 0.4 ? 'forbid' : 'permit';
  return `@id("p${i}")\n${effect} (principal, action == Leash::Action::"Exec", ${resource})${clause};\n`;
}

describe(`exec conformance (${TEST_RUNTIME} runtime)`, { skip: runtimeSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  it('runs a program exactly when Cedar allows it, on random policies and arguments', () => {
    const seen = { ran: 0, refused: 0, killed: 0 };
    for (let seed = 1; seed <= 8; seed++) {
      const next = random(seed);
      const ws = makeWorkspace();
      fs.copyFileSync('/bin/true', path.join(ws, 't'));
      fs.chmodSync(path.join(ws, 't'), 0o755);
      const exec = Array.from({ length: 3 + Math.floor(next() * 3) }, (_, i) =>
        randomPolicy(next, i),
      );
      const text = FILES + exec.join('\n');
      const policy = path.join(ws, 'p.cedar');
      fs.writeFileSync(policy, text);
      forRuntime(ws);

      const runs = Array.from({ length: 12 }, () => ({
        program: pick(next, ['/usr/bin/echo', '/usr/bin/true', `${ws}/t`]),
        argv: Array.from({ length: Math.floor(next() * 4) }, () => pick(next, WORDS)),
      }));
      const script = runs
        .map(
          (r, i) =>
            `${[r.program, ...r.argv.map((a) => `'${a}'`)].join(' ')} >/dev/null 2>&1; echo "r${i}=$?"`,
        )
        .join('\n');
      const out = daemon.cli([
        ...['run', ...RUNTIME_FLAGS, '--name', `exec-conf-${seed}`, '--policy', policy],
        ...['--workspace', ws],
        ...['shell', '--', 'sh', '-c', script],
      ]);
      runs.forEach((r, i) => {
        const expected = authorize(text, {
          action: 'Exec',
          path: r.program,
          argv: r.argv,
          principal: 'shell',
          session: `exec-conf-${seed}`,
          workspace: ws,
          home: RUNTIME_HOME,
        }).decision;
        const status = Number(new RegExp(`^r${i}=(\\d+)$`, 'm').exec(out.stdout)?.[1] ?? -1);
        if (status === 0) seen.ran++;
        else if (status === 137) seen.killed++;
        else if (status === 126) seen.refused++;
        const what = `seed ${seed}: ${r.program} ${JSON.stringify(r.argv)} ended ${status}`;
        assert.equal(status === 0 ? 'allow' : 'deny', expected, `${what}\n${text}\n${out.stderr}`);
        assert.ok([0, 126, 137].includes(status), what);
      });
    }
    assert.ok(seen.ran > 5 && seen.refused > 5 && seen.killed > 5, JSON.stringify(seen));
  });
});
