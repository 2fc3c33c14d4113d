/** The resource part of a policy's scope, for actions whose resource can be named there. */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { CompileError } from './errors';
import { binary, entityLiteral, isVar, nodeOf } from './expr';
import { FALSE, not, TRUE, type Formula } from './formula';

/**
 * `resource` (open) holds always and `resource is T` of another type never; a named entity
 * (`== E`, `in E`, `is T in E`) is handed to `entity` with the operator and the expression to
 * point errors at.
 */
export function namedScope<M>(
  json: PolicyJson,
  entityType: string,
  entity: (op: '==' | 'in', type: string, id: string, at: Expr) => Formula<M>,
): Formula<M> {
  const r = json.resource;
  if (r.op === 'All') return TRUE;
  if (r.op === 'is' && r.entity_type !== entityType) return FALSE;
  const target = r.op === 'is' ? r.in : r;
  if (!target) return TRUE;
  if (!('entity' in target)) throw new CompileError('template', 'templates are not supported.');
  const uid = target.entity;
  const { type, id } = '__entity' in uid ? uid.__entity : uid;
  const at: Expr = { Value: { __entity: { type: type ?? '', id } } };
  return entity(r.op === '==' ? '==' : 'in', type ?? '', id, at);
}

/**
 * `resource == E` or `E == resource` (or `!=`) with an entity literal E, in a condition: the
 * formula `entity` gives for E (negated for `!=`), or null when `e` is no such comparison.
 */
export function resourceEquality<M>(
  e: Expr,
  entity: (type: string, id: string, at: Expr) => Formula<M>,
  negate: (m: M) => M,
): Formula<M> | null {
  const eq = binary(e, '==') ?? binary(e, '!=');
  if (!eq) return null;
  for (const [a, b] of [
    [eq.left, eq.right],
    [eq.right, eq.left],
  ] as const) {
    const literal = entityLiteral(b);
    if (isVar(a, 'resource') && literal) {
      const f = entity(literal.type, literal.id, b);
      return nodeOf(e).op === '==' ? f : not(f, negate);
    }
  }
  return null;
}
