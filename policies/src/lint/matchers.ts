/**
 * Reasoning about compiled matchers for the lint rules: when one matcher implies another and
 * when two can never hold together. Every answer errs on the safe side: "implies" and
 * "disjoint" are said only when they are certain, so a lint finding is never a guess.
 */
import { pathHolds } from '../decide';
import type { ConnectMatcher, PathMatcher } from '../ir';
import { cidrContains, parseCidr, type Cidr } from '../ip';
import { isAtOrBelow } from '../paths';

export type Matcher = PathMatcher | ConnectMatcher;

const MAX_PORT = 65535;

function negated<M extends Matcher>(m: M): M {
  return { ...m, negate: !m.negate };
}

function positive<M extends Matcher>(m: M): M {
  return { ...m, negate: false };
}

/** Holds for every request: `/` as a directory, or every port. */
function universal(m: Matcher): boolean {
  if (m.negate) return false;
  if (m.kind === 'prefix') return m.value === '/';
  if (m.kind === 'suffix') return m.value === '';
  if (m.kind === 'port') return m.lo <= 0 && m.hi >= MAX_PORT;
  return false;
}

function cidr(m: { cidr: string }): Cidr {
  const c = parseCidr(m.cidr);
  if (!c) throw new Error(`invalid CIDR in IR rule: ${m.cidr}`);
  return c;
}

function cidrWithin(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && b.prefix <= a.prefix && cidrContains(b, a);
}

/** Both positive: whether every request matching `a` matches `b`. */
function positiveImplies(a: Matcher, b: Matcher): boolean {
  if (universal(b)) return true;
  if (a.kind === 'exact' && (b.kind === 'exact' || b.kind === 'prefix' || b.kind === 'suffix')) {
    return pathHolds(b, a.value);
  }
  if (a.kind === 'prefix' && b.kind === 'prefix') return isAtOrBelow(a.value, b.value);
  if (a.kind === 'suffix' && b.kind === 'suffix') return a.value.endsWith(b.value);
  if (a.kind === 'cidr' && b.kind === 'cidr') return cidrWithin(cidr(a), cidr(b));
  if (a.kind === 'port' && b.kind === 'port') return a.lo >= b.lo && a.hi <= b.hi;
  return false;
}

/** Both positive: whether no request matches both. */
function positiveDisjoint(a: Matcher, b: Matcher): boolean {
  if (b.kind === 'exact' && a.kind !== 'exact') return positiveDisjoint(b, a);
  if (a.kind === 'exact' && (b.kind === 'exact' || b.kind === 'prefix' || b.kind === 'suffix')) {
    return !pathHolds(b, a.value);
  }
  if (a.kind === 'prefix' && b.kind === 'prefix') {
    return !isAtOrBelow(a.value, b.value) && !isAtOrBelow(b.value, a.value);
  }
  // A path ending in both strings ends in the longer one, which then ends in the shorter.
  if (a.kind === 'suffix' && b.kind === 'suffix') {
    return !a.value.endsWith(b.value) && !b.value.endsWith(a.value);
  }
  if (a.kind === 'cidr' && b.kind === 'cidr') {
    const [x, y] = [cidr(a), cidr(b)];
    return !cidrWithin(x, y) && !cidrWithin(y, x);
  }
  if (a.kind === 'port' && b.kind === 'port') return a.hi < b.lo || b.hi < a.lo;
  return false;
}

/** Whether every request matching `a` also matches `b`. */
export function implies(a: Matcher, b: Matcher): boolean {
  if (!a.negate && !b.negate) return positiveImplies(a, b);
  if (!a.negate && b.negate) return positiveDisjoint(a, positive(b));
  if (a.negate && b.negate) return positiveImplies(positive(b), positive(a));
  return universal(b);
}

/** Whether no request can satisfy every matcher of one rule. */
export function unsatisfiable(match: Matcher[]): boolean {
  for (const a of match) {
    for (const b of match) if (implies(a, negated(b))) return true;
  }
  return false;
}

/** Whether every request matching all of `narrow` matches all of `wide`. */
export function covers(wide: Matcher[], narrow: Matcher[]): boolean {
  return wide.every((w) => narrow.some((n) => implies(n, w)));
}
