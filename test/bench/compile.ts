/**
 * compile_ms: what `leash policy check` and a session's compile cost for a policy of N
 * statements (checkPolicy + compilePolicy, in process), against cedar-wasm's own parse and
 * strict validation of the same text, so the ratio says what Leash's checks and compiler add.
 */
import { checkPolicy, compilePolicy } from '@leash/policies';
import { cedar } from '@leash/policies/dist/cedar';
import { schema } from '@leash/policies/dist/schema';
import { withStatements } from './policies';
import { interleave, summarise, type Result } from './stats';

const WORKSPACE = '/src/app';

function leashCompile(text: string): void {
  const check = checkPolicy(text, 'bench.cedar');
  const compiled = compilePolicy(text, 'bench.cedar', {
    session: 'bench',
    principals: ['shell'],
    workspace: WORKSPACE,
    home: '/root',
  });
  if (!check.ok || !compiled.ok) {
    throw new Error(`generated policy refused: ${JSON.stringify(compiled.diagnostics[0])}`);
  }
}

export function cedarOnly(text: string): void {
  const parsed = cedar.checkParsePolicySet({ staticPolicies: text });
  const validated = cedar.validate({
    schema: schema(),
    policies: { staticPolicies: text },
    validationSettings: { mode: 'strict' },
  });
  if (parsed.type !== 'success' || validated.type !== 'success') {
    throw new Error('cedar-wasm refused a generated policy');
  }
}

function timed(fn: () => void): Promise<number[]> {
  const start = process.hrtime.bigint();
  fn();
  return Promise.resolve([Number(process.hrtime.bigint() - start) / 1e6]);
}

export async function compileBenchmarks(
  sizes: { statements: number[]; pairs: number; budgetMs: number },
  log: (line: string) => void,
): Promise<Result[]> {
  const results: Result[] = [];
  for (const n of sizes.statements) {
    const text = withStatements(n);
    const started = Date.now();
    const pairs = await interleave(
      { pairs: sizes.pairs, warmup: 2, budgetMs: sizes.budgetMs },
      () => timed(() => leashCompile(text)),
      () => timed(() => cedarOnly(text)),
    );
    const ms = (rows: number[][]) => ({ samples: rows.map((r) => r[0] as number) });
    const result = summarise(
      `compile_ms/${n}-statements`,
      'ms',
      ms(pairs.a),
      ms(pairs.b),
      'checkPolicy + compilePolicy in process; baseline: cedar-wasm parse + strict validate',
    );
    log(`${result.name}: ${result.value} ms (${pairs.a.length} pairs, ${Date.now() - started} ms)`);
    results.push(result);
  }
  return results;
}
