/**
 * When an exec, HTTP or MCP rule can never match: two string tests on the same attribute that
 * no value passes, disjoint ports, or program paths that contradict. Said only when certain.
 */
import { stringHolds } from '../decide';
import type { ExecMatcher, HttpMatcher, McpMatcher, PathMatcher, StringMatcher } from '../ir';
import { unsatisfiable } from './matchers';

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
