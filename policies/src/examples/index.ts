/**
 * Policy examples: `NAME.examples.json` beside `NAME.cedar`, a list of requests with the
 * decision each must get (and optionally its determining policies). Each example is checked
 * against Cedar and against the compiled rules.
 */
import { LineMap, type Diagnostic } from '../diagnostics';
import type { Decision, Verdict } from '../ir';
import { makeJudge, type JudgeOptions } from '../explain/judge';
import { describeRequest, parseRequest, RequestError, type Request } from '../explain/request';

export interface Example {
  request: Request;
  expect: Decision;
  policies?: string[];
  /** 1-based position of the example in its file. */
  line: number;
  column: number;
}

export interface ExampleResult {
  index: number;
  line: number;
  column: number;
  request: string;
  expect: Decision;
  pass: boolean;
  /** What is wrong, one sentence each; empty when the example passes. */
  problems: string[];
  cedar: Verdict;
  ir: Verdict;
}

/** The start offsets of the top-level array's elements, for positions. */
function elementStarts(text: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) continue;
    if (depth === 1 && expecting) {
      starts.push(i);
      expecting = false;
    }
    if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expecting = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expecting = true;
  }
  return starts;
}

/** Reads an examples file; every problem is a diagnostic with the example's position. */
export function parseExamples(
  text: string,
  file: string,
): { examples: Example[]; diagnostics: Diagnostic[] } {
  const lines = new LineMap(text);
  const error = (at: number, code: string, message: string): Diagnostic =>
    lines.diagnostic(file, { start: at, end: at }, 'error', code, message);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = Number(/position (\d+)/.exec((err as Error).message)?.[1] ?? 0);
    return { examples: [], diagnostics: [error(at, 'examples-json', (err as Error).message)] };
  }
  if (!Array.isArray(value)) {
    const d = error(0, 'examples-format', 'an examples file is a JSON array of examples.');
    return { examples: [], diagnostics: [d] };
  }

  const starts = elementStarts(text);
  const examples: Example[] = [];
  const diagnostics: Diagnostic[] = [];
  value.forEach((item: unknown, i) => {
    const at = starts[i] ?? 0;
    const { line, column } = lines.position(at);
    const e = (item ?? {}) as { request?: unknown; expect?: unknown; policies?: unknown };
    try {
      const request = parseRequest(e.request);
      if (e.expect !== 'allow' && e.expect !== 'deny') {
        throw new RequestError('"expect" must be "allow" or "deny".');
      }
      const policies = e.policies;
      if (policies !== undefined) {
        if (!Array.isArray(policies) || !policies.every((p) => typeof p === 'string')) {
          throw new RequestError('"policies" must be an array of policy ids.');
        }
      }
      examples.push({ request, expect: e.expect, policies, line, column });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      diagnostics.push(error(at, 'examples-format', `example ${i + 1}: ${err.message}`));
    }
  });
  return { examples, diagnostics };
}

function problemsOf(example: Example, name: string, v: Verdict): string[] {
  const out: string[] = [];
  if (v.decision !== example.expect) out.push(`${name} decides ${v.decision}`);
  const expected = example.policies && [...example.policies].sort().join(', ');
  if (expected !== undefined && expected !== v.policies.join(', ')) {
    out.push(`${name} names [${v.policies.join(', ')}], expected [${expected}]`);
  }
  return out;
}

/** Runs each example against Cedar and against the compiled rules (built-in rules left out). */
export function runExamples(
  text: string,
  file: string,
  examples: Example[],
  options: JudgeOptions,
): { ok: boolean; diagnostics: Diagnostic[]; results: ExampleResult[] } {
  const judge = makeJudge(text, file, options);
  if (!judge.ok) return { ok: false, diagnostics: judge.diagnostics, results: [] };
  const results = examples.map((example, index): ExampleResult => {
    const { ir, cedar, agree } = judge.judge(example.request);
    const problems = [...problemsOf(example, 'Cedar', cedar), ...problemsOf(example, 'the IR', ir)];
    if (!agree) problems.push('Cedar and the compiled rules disagree (a compiler bug)');
    return {
      index,
      line: example.line,
      column: example.column,
      request: describeRequest(example.request),
      expect: example.expect,
      pass: problems.length === 0,
      problems,
      cedar,
      ir,
    };
  });
  return { ok: results.every((r) => r.pass), diagnostics: judge.diagnostics, results };
}

/** The session examples are judged in, unless told otherwise: documented in docs/policy.md. */
export const EXAMPLE_SESSION: JudgeOptions = {
  session: 'examples',
  workspace: '/workspace',
  home: '/home/agent',
};
