/** One Cedar policy (in Cedar's JSON form) → the rules it stands for, per kind of action. */
import type { Expr, PolicyJson, PrincipalConstraint } from '@cedar-policy/cedar-wasm/nodejs';
import type { ConnectMatcher, Effect, ExecMatcher, FileAccess, PathMatcher } from '../ir';
import type { Roots } from '../paths';
import { compileCondition, type AtomCompiler } from './condition';
import { connectAtoms } from './connect';
import { CompileError } from './errors';
import { fileAtoms, fileEntity } from './file';
import { and, FALSE, FormulaTooLarge, MAX_ALTERNATIVES, not, TRUE, type Formula } from './formula';

export const ACTIONS = [
  'ReadFile',
  'WriteFile',
  'Exec',
  'Connect',
  'HttpRequest',
  'McpCall',
] as const;
export type Action = (typeof ACTIONS)[number];

export interface CompiledPolicy {
  id: string;
  effect: Effect;
  principal: PrincipalConstraint;
  /** Path alternatives for the file accesses the policy names; null when it names none. */
  files: { access: FileAccess[]; alternatives: PathMatcher[][] } | null;
  connects: ConnectMatcher[][] | null;
  /** Exec alternatives; null when the policy does not name Exec. */
  exec: ExecMatcher[][] | null;
  /** An unconditional permit of Exec. */
  execPermit: boolean;
}

const FILE_ACCESS: Partial<Record<Action, FileAccess>> = { ReadFile: 'read', WriteFile: 'write' };

function actionsOf(json: PolicyJson): Action[] {
  const a = json.action;
  if (a.op === 'All') return [...ACTIONS];
  const uids = 'entities' in a ? a.entities : 'entity' in a ? [a.entity] : [];
  return uids
    .map((u) => ('__entity' in u ? u.__entity.id : u.id))
    .filter((id): id is Action => (ACTIONS as readonly string[]).includes(id));
}

/** The resource scope and the conditions, as one formula over `atoms`' matchers. */
function condition<M>(
  json: PolicyJson,
  atoms: AtomCompiler<M>,
  scope: (json: PolicyJson) => Formula<M>,
): Formula<M> {
  let f = scope(json);
  for (const clause of json.conditions) {
    const c = compileCondition(clause.body, atoms);
    f = and(f, clause.kind === 'when' ? c : not(c, atoms.negate));
  }
  return f;
}

function fileScope(json: PolicyJson, roots: Roots): Formula<PathMatcher> {
  const r = json.resource;
  if (r.op === 'All') return TRUE;
  if (r.op === 'is' && r.entity_type !== 'Leash::File') return FALSE;
  const target = r.op === 'is' ? r.in : r;
  if (!target) return TRUE;
  if (!('entity' in target)) throw new CompileError('template', 'templates are not supported.');
  const uid = target.entity;
  const { type, id } = '__entity' in uid ? uid.__entity : uid;
  const at: Expr = { Value: { __entity: { type: type ?? '', id } } };
  return fileEntity(r.op === '==' ? '==' : 'in', type ?? '', id, roots, at);
}

function connectScope(json: PolicyJson): Formula<ConnectMatcher> {
  const r = json.resource;
  if (r.op === 'All') return TRUE;
  if (r.op === 'is' && !r.in) return r.entity_type === 'Leash::Endpoint' ? TRUE : FALSE;
  throw new CompileError(
    'unsupported-scope',
    'Connect resources cannot be named in the scope: leave `resource` open and write a ' +
      '`when { resource.ip… }` condition.',
  );
}

/** Where an action is named in the scope (or the open `action`), for the diagnostic's range. */
function actionAt(json: PolicyJson, action: Action): Expr {
  if (json.action.op === 'All') return { Var: 'action' };
  return { Value: { __entity: { type: 'Leash::Action', id: action } } };
}

function exec(json: PolicyJson): boolean {
  const unconditional =
    json.conditions.length === 0 &&
    (json.resource.op === 'All' ||
      (json.resource.op === 'is' &&
        json.resource.entity_type === 'Leash::File' &&
        !json.resource.in));
  if (json.effect === 'forbid') {
    throw new CompileError(
      'exec-not-narrowed',
      'a forbid that applies to Exec cannot be enforced yet: exec rules land in a later ' +
        'version, and until then Exec is always permitted. ' +
        "Leave Exec out of this policy's actions.",
      actionAt(json, 'Exec'),
    );
  }
  if (!unconditional) {
    throw new CompileError(
      'exec-not-narrowed',
      'a permit of Exec with a resource or a condition cannot be enforced yet: exec rules land ' +
        'in a later version. Permit Exec unconditionally ' +
        '(`permit(principal, action == Leash::Action::"Exec", resource);`) and narrow it later.',
      actionAt(json, 'Exec'),
    );
  }
  return true;
}

/** Compiles one policy; throws a CompileError on the first thing it cannot enforce exactly. */
export function compileOne(id: string, json: PolicyJson, roots: Roots): CompiledPolicy {
  const actions = actionsOf(json);
  for (const proxied of ['HttpRequest', 'McpCall'] as const) {
    if (actions.includes(proxied)) {
      const what = proxied === 'HttpRequest' ? 'HTTP requests' : 'MCP calls';
      throw new CompileError(
        'not-enforced-yet',
        `${proxied} policies are not enforced yet: ${what} are judged by the proxy, which ` +
          `lands in a later version. List the actions this policy is for without ${proxied} ` +
          '(an open `action` includes it).',
        actionAt(json, proxied),
      );
    }
  }

  try {
    const access = actions.flatMap((a) => FILE_ACCESS[a] ?? []);
    const files = access.length
      ? { access, alternatives: condition(json, fileAtoms(roots), (j) => fileScope(j, roots)) }
      : null;
    const connects = actions.includes('Connect')
      ? condition(json, connectAtoms(), connectScope)
      : null;
    const execPermit = actions.includes('Exec') ? exec(json) : false;
    const execRules = execPermit ? [[]] : null;
    return {
      id,
      effect: json.effect,
      principal: json.principal,
      files,
      connects,
      exec: execRules,
      execPermit,
    };
  } catch (err) {
    if (!(err instanceof FormulaTooLarge)) throw err;
    throw new CompileError(
      'too-complex',
      `this policy's conditions expand to more than ${MAX_ALTERNATIVES} rules; split it into ` +
        'several policies.',
    );
  }
}

/** Whether the policy's principal scope covers `Agent::"<name>"` of session `session`. */
export function appliesTo(p: PrincipalConstraint, name: string, session: string): boolean {
  const is = (uid: unknown, type: string, id: string): boolean => {
    const u = uid as { __entity?: { type: string; id: string }; type?: string; id?: string };
    const e = u.__entity ?? u;
    return e.type === type && e.id === id;
  };
  const inScope = (uid: unknown): boolean =>
    is(uid, 'Leash::Agent', name) || is(uid, 'Leash::Session', session);
  if (p.op === 'All') return true;
  if (p.op === '==') return 'entity' in p && is(p.entity, 'Leash::Agent', name);
  if (p.op === 'in') return 'entity' in p && inScope(p.entity);
  if (p.entity_type !== 'Leash::Agent') return false;
  return !p.in || ('entity' in p.in && inScope(p.in.entity));
}
