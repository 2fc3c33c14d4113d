/**
 * When an exec, HTTP or MCP rule can never match: two string tests on the same attribute that
 * no value passes, disjoint ports, or program paths that contradict. Said only when certain.
 */
import { stringHolds } from '../decide';
import type { ExecMatcher, HttpMatcher, McpMatcher, PathMatcher, StringMatcher } from '../ir';
import { implies, unsatisfiable } from './matchers';

type Keyed = { key: string; match: StringMatcher };

/** Some value both pass? Decided only when one of them is a positive equality. */
function contradict(a: StringMatcher, b: StringMatcher): boolean {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x.kind === 'equals' && !x.negate) return !stringHolds(y, x.value);
  }
  return false;
}

function stringsContradict(tests: Keyed[]): boolean {
  for (let i = 0; i < tests.length; i++) {
    for (let k = i + 1; k < tests.length; k++) {
      const a = tests[i] as Keyed;
      const b = tests[k] as Keyed;
      if (a.key === b.key && contradict(a.match, b.match)) return true;
    }
  }
  return false;
}

function portsDisjoint(ranges: Array<{ lo: number; hi: number; negate?: boolean }>): boolean {
  const positive = ranges.filter((r) => !r.negate);
  if (positive.length === 0) return false;
  const lo = Math.max(...positive.map((r) => r.lo));
  const hi = Math.min(...positive.map((r) => r.hi));
  return lo > hi;
}

export function execUnsatisfiable(alternative: ExecMatcher[]): boolean {
  const paths: PathMatcher[] = [];
  const strings: Keyed[] = [];
  for (const m of alternative) {
    if (m.on === 'program') paths.push(m.path);
    else if (m.on === 'args') strings.push({ key: 'args', match: m.match });
  }
  return unsatisfiable(paths) || stringsContradict(strings);
}

export function httpUnsatisfiable(alternative: HttpMatcher[]): boolean {
  const strings: Keyed[] = [];
  const ports = [];
  for (const m of alternative) {
    if (m.on === 'port') ports.push(m);
    else strings.push({ key: m.on, match: m.match });
  }
  return portsDisjoint(ports) || stringsContradict(strings);
}

export function mcpUnsatisfiable(alternative: McpMatcher[]): boolean {
  return stringsContradict(alternative.map((m) => ({ key: m.on, match: m.match })));
}

export type Rule = ExecMatcher | HttpMatcher | McpMatcher;

/** Whether every request matching `a` matches `b`; both on the same action. */
function ruleImplies(a: Rule, b: Rule): boolean {
  if (JSON.stringify(a) === JSON.stringify(b)) return true;
  if (a.on === 'program' && b.on === 'program') return implies(a.path, b.path);
  if (a.on === 'port' && b.on === 'port') {
    if (a.negate || b.negate) return false;
    return b.lo <= a.lo && a.hi <= b.hi;
  }
  if (a.on === 'argv' && b.on === 'argv') {
    // Positive set tests only: holding all of X implies holding all (or any) of Y ⊆ X.
    if (a.negate || b.negate || a.op === 'containsAny') return false;
    const have = new Set(a.values);
    return b.op === 'containsAny'
      ? b.values.some((v) => have.has(v))
      : b.values.every((v) => have.has(v));
  }
  if ('match' in a && 'match' in b && a.on === b.on) {
    const all = b.match.kind === 'like' && !b.match.negate && b.match.parts.every((p) => !p);
    if (all) return true;
    return a.match.kind === 'equals' && !a.match.negate && stringHolds(b.match, a.match.value);
  }
  return false;
}

/** Whether every request matching all of `narrow` matches all of `wide`. */
export function ruleCovers(wide: Rule[], narrow: Rule[]): boolean {
  return wide.every((w) => narrow.some((n) => ruleImplies(n, w)));
}
