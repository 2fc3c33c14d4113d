/**
 * `explain`: the decision on one request, the policies that determined it (from the compiled
 * rules and from Cedar, which must agree), and what to change for a denial: the smallest
 * permit that would allow it, or the forbids that decided it.
 */
import type { Diagnostic } from '../diagnostics';
import type { Verdict } from '../ir';
import { makeJudge, type JudgeOptions } from './judge';
import { describeRequest, type Request } from './request';
import { permitFor } from './snippet';

export { makeJudge, type Judge, type Judgement, type JudgeOptions } from './judge';
export { describeRequest, parseRequest, RequestError, type Request } from './request';
export { cedarString, permitFor } from './snippet';

export interface ForbidAt {
  id: string;
  /** Where the forbid is written; absent for a built-in rule, which no policy can lift. */
  line?: number;
  column?: number;
  builtin: boolean;
}

export type Fix =
  | {
      kind: 'permit';
      policy: string;
      /** The permit, added, allows the request. */ verified: boolean;
    }
  | { kind: 'forbid'; forbids: ForbidAt[] };

export interface Explanation {
  ok: boolean;
  diagnostics: Diagnostic[];
  request?: string;
  /** What leashd enforces, built-in rules included. */
  decision?: Verdict['decision'];
  policies?: string[];
  ir?: Verdict;
  cedar?: Verdict;
  agree?: boolean;
  fix?: Fix;
}

function freshId(taken: Set<string>, base: string): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

export function explain(
  text: string,
  file: string,
  request: Request,
  options: JudgeOptions,
): Explanation {
  const judge = makeJudge(text, file, options);
  if (!judge.ok) return { ok: false, diagnostics: judge.diagnostics };
  const { enforced, ir, cedar, agree } = judge.judge(request);
  const out: Explanation = {
    ok: true,
    diagnostics: judge.diagnostics,
    request: describeRequest(request),
    decision: enforced.decision,
    policies: enforced.policies,
    ir,
    cedar,
    agree,
  };
  if (enforced.decision === 'allow') return out;

  const policies = judge.analysis.policies;
  if (enforced.policies.length) {
    const forbids = enforced.policies.map((id): ForbidAt => {
      const found = policies.find((p) => p.compiled.id === id);
      if (!found) return { id, builtin: true };
      const { line, column } = judge.analysis.lines.position(found.source.head.start);
      return { id, line, column, builtin: false };
    });
    return { ...out, fix: { kind: 'forbid', forbids } };
  }

  const taken = new Set(policies.map((p) => p.compiled.id));
  const policy = permitFor(request, freshId(taken, `allow-${request.action.toLowerCase()}`));
  const widened = makeJudge(`${text}\n${policy}\n`, file, options);
  let verified = false;
  if (widened.ok) {
    const after = widened.judge(request);
    verified = after.agree && after.enforced.decision === 'allow';
  }
  return { ...out, fix: { kind: 'permit', policy, verified } };
}
