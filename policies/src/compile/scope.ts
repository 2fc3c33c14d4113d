/** The resource part of a policy's scope, for actions whose resource can be named there. */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { CompileError } from './errors';
import { FALSE, TRUE, type Formula } from './formula';

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
