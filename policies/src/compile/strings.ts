/**
 * String conditions shared by Exec, HttpRequest and McpCall: `==`, `!=` and `like` between one
 * string attribute and a literal, and `["a", "b"].contains(attr)`, as StringMatchers.
 */
import type { Expr, PatternElem } from '@cedar-policy/cedar-wasm/nodejs';
import type { StringMatcher } from '../ir';
import { binary, literal, nodeOf } from './expr';
import { atom, FALSE, not, or, type Formula } from './formula';

/** `like` parts between wildcards, or an `equals` when the pattern has no wildcard. */
export function likeMatcher(pattern: PatternElem[]): StringMatcher {
  const parts: string[] = [''];
  let wild = false;
  for (const p of pattern) {
    if (p === 'Wildcard') {
      if (!wild || parts[parts.length - 1] !== '') parts.push('');
      wild = true;
    } else parts[parts.length - 1] += p.Literal;
  }
  return wild ? { kind: 'like', parts } : { kind: 'equals', value: parts[0] as string };
}

export const negateString = (m: StringMatcher): StringMatcher => ({ ...m, negate: !m.negate });

/** The literal text a matcher needs, for checks such as "a host name is lower-case". */
export function literalText(m: StringMatcher): string {
  return m.kind === 'equals' ? m.value : m.parts.join('');
}

/**
 * The string atoms of an action: `subject(e)` names the attribute `e` reads (or null), and
 * `make` builds the action's matcher. `check` may refuse literals that can never match.
 */
export interface StringSubjects<M> {
  subject(e: Expr): string | null;
  make(subject: string, m: StringMatcher): M;
  check?(subject: string, m: StringMatcher, at: Expr): void;
}

function build<M>(s: StringSubjects<M>, subject: string, m: StringMatcher, at: Expr): M {
  s.check?.(subject, m, at);
  return s.make(subject, m);
}

/** A string condition on one of `s`'s subjects, or null when `e` is none. */
export function stringAtom<M>(
  e: Expr,
  s: StringSubjects<M>,
  negate: (m: M) => M,
): Formula<M> | null {
  const n = nodeOf(e);
  const eq = binary(e, '==') ?? binary(e, '!=');
  if (eq) {
    for (const [a, b] of [
      [eq.left, eq.right],
      [eq.right, eq.left],
    ] as const) {
      const subject = s.subject(a);
      const value = literal(b);
      if (subject !== null && typeof value === 'string') {
        const f = atom(build(s, subject, { kind: 'equals', value }, e));
        return n.op === '==' ? f : not(f, negate);
      }
    }
    return null;
  }
  if (n.op === 'like') {
    const b = n.body as { left: Expr; pattern: PatternElem[] };
    const subject = s.subject(b.left);
    return subject === null ? null : atom(build(s, subject, likeMatcher(b.pattern), e));
  }
  if (n.op === 'contains') {
    // `["GET", "HEAD"].contains(context.method)`: one of the literals.
    const b = n.body as { left: Expr; right: Expr };
    const subject = s.subject(b.right);
    const set = nodeOf(b.left);
    if (subject === null || set.op !== 'Set' || !Array.isArray(set.body)) return null;
    const values = (set.body as Expr[]).map(literal);
    if (!values.every((v): v is string => typeof v === 'string')) return null;
    return values.reduce<Formula<M>>(
      (acc, value) => or(acc, atom(build(s, subject, { kind: 'equals', value }, e))),
      FALSE,
    );
  }
  return null;
}
