/**
 * Conditions in disjunctive normal form: a list of alternatives, each a list of matchers that
 * must all hold. `[[]]` is true and `[]` is false. Each alternative becomes one IR rule.
 */

export type Formula<M> = M[][];

export const TRUE: Formula<never> = [[]];
export const FALSE: Formula<never> = [];

/** Policies whose conditions expand past this many rules are refused rather than bloating maps. */
export const MAX_ALTERNATIVES = 64;

export class FormulaTooLarge extends Error {}

function checked<M>(f: Formula<M>): Formula<M> {
  if (f.length > MAX_ALTERNATIVES) throw new FormulaTooLarge();
  return f;
}

export function and<M>(a: Formula<M>, b: Formula<M>): Formula<M> {
  const out: Formula<M> = [];
  for (const x of a) for (const y of b) out.push([...x, ...y]);
  return checked(out);
}

export function or<M>(a: Formula<M>, b: Formula<M>): Formula<M> {
  return checked([...a, ...b]);
}

export function not<M>(f: Formula<M>, negate: (m: M) => M): Formula<M> {
  // ¬(A ∨ B) = ¬A ∧ ¬B, and ¬(m1 ∧ m2) = ¬m1 ∨ ¬m2.
  let out: Formula<M> = [[]];
  for (const alternative of f)
    out = and(
      out,
      alternative.map((m) => [negate(m)]),
    );
  return out;
}

export function atom<M>(m: M): Formula<M> {
  return [[m]];
}
