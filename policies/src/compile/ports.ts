/** Comparisons of a port attribute with a number, as inclusive port ranges. */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';
import { binary, literal } from './expr';
import { atom, FALSE, not, type Formula } from './formula';

export const MAX_PORT = 65535;

const COMPARE: Record<string, (n: number) => [number, number]> = {
  '==': (n) => [n, n],
  '!=': (n) => [n, n],
  '<': (n) => [-Infinity, n - 1],
  '<=': (n) => [-Infinity, n],
  '>': (n) => [n + 1, Infinity],
  '>=': (n) => [n, Infinity],
};
const MIRROR: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/**
 * `port OP n` or `n OP port`, where `isPort` recognises the port attribute, as a formula over
 * `make(lo, hi)`; null when `e` is no such comparison.
 */
export function portComparison<M>(
  e: Expr,
  isPort: (e: Expr) => boolean,
  make: (lo: number, hi: number) => M,
  negate: (m: M) => M,
): Formula<M> | null {
  for (const op of Object.keys(COMPARE)) {
    const b = binary(e, op);
    if (!b) continue;
    const swapped = !isPort(b.left);
    const [subject, other] = swapped ? [b.right, b.left] : [b.left, b.right];
    const value = literal(other);
    if (!isPort(subject) || typeof value !== 'number') return null;
    const effective = swapped ? (MIRROR[op] ?? op) : op;
    const [lo, hi] = (COMPARE[effective] as (n: number) => [number, number])(value);
    const from = Math.max(lo, 0);
    const to = Math.min(hi, MAX_PORT);
    const f: Formula<M> = from > to ? FALSE : atom(make(from, to));
    return effective === '!=' ? not(f, negate) : f;
  }
  return null;
}
