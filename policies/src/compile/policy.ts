/** One Cedar policy (in Cedar's JSON form) → the rules it stands for, per kind of action. */
import type { Expr, PolicyJson, PrincipalConstraint } from '@cedar-policy/cedar-wasm/nodejs';
import type {
  ConnectMatcher,
  Effect,
  ExecMatcher,
  FileAccess,
  HttpMatcher,
  HttpRule,
  McpMatcher,
  PathMatcher,
} from '../ir';
import type { Roots } from '../paths';
import { compileCondition, type AtomCompiler } from './condition';
import { connectAtoms } from './connect';
import { CompileError } from './errors';
import { execAtoms, onProgram } from './exec';
import { fileAtoms, fileEntity } from './file';
import { httpAtoms, httpScope } from './http';
import { parseInjectHeader } from './inject';
import { mcpAtoms, mcpScope } from './mcp';
import { namedScope } from './scope';
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
  http: { alternatives: HttpMatcher[][]; injectHeader?: HttpRule['injectHeader'] } | null;
  mcp: McpMatcher[][] | null;
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
  return namedScope(json, 'Leash::File', (op, type, id, at) => fileEntity(op, type, id, roots, at));
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

/** The header a permit asks the proxy to inject, checked; undefined without the annotation. */
function injectHeader(json: PolicyJson, actions: Action[]): HttpRule['injectHeader'] {
  const text = json.annotations?.inject_header;
  if (text === undefined || text === null) return undefined;
  if (json.effect !== 'permit' || !actions.includes('HttpRequest')) {
    throw new CompileError(
      'inject-header-not-permit',
      '@inject_header adds a header to the HTTP requests a permit allows, so it belongs on a ' +
        'permit whose actions include HttpRequest; move it to such a policy or remove it.',
      undefined,
      ['@', 'inject_header'],
    );
  }
  return parseInjectHeader(text);
}

/** Compiles one policy; throws a CompileError on the first thing it cannot enforce exactly. */
export function compileOne(id: string, json: PolicyJson, roots: Roots): CompiledPolicy {
  const actions = actionsOf(json);
  try {
    const access = actions.flatMap((a) => FILE_ACCESS[a] ?? []);
    const scope = (j: PolicyJson): Formula<PathMatcher> => fileScope(j, roots);
    const files = access.length
      ? { access, alternatives: condition(json, fileAtoms(roots), scope) }
      : null;
    const connects = actions.includes('Connect')
      ? condition(json, connectAtoms(), connectScope)
      : null;
    const exec = actions.includes('Exec')
      ? condition(json, execAtoms(roots), (j) => onProgram(scope(j)))
      : null;
    const inject = injectHeader(json, actions);
    const http = actions.includes('HttpRequest')
      ? { alternatives: condition(json, httpAtoms(), httpScope), injectHeader: inject }
      : null;
    const mcp = actions.includes('McpCall') ? condition(json, mcpAtoms(), mcpScope) : null;
    const { effect, principal } = json;
    return { id, effect, principal, files, connects, exec, http, mcp };
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
