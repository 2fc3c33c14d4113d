/** Compile errors: why a policy cannot be enforced exactly, and where in its text. */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';
import type { PatternElem } from '../source';

export class CompileError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The offending expression, located in the policy text for the diagnostic's range. */
    readonly expr?: Expr,
    /** Tokens to locate instead, when the offending text is not an expression. */
    readonly tokens?: PatternElem[],
  ) {
    super(message);
  }
}

const FUNCTIONS = new Set(['ip', 'decimal', 'datetime', 'duration']);
const BINARY = ['==', '!=', '<', '<=', '>', '>=', '&&', '||', 'in', '+', '-', '*'];
const METHODS = ['contains', 'containsAll', 'containsAny', 'getTag', 'hasTag'];

function entityTokens(type: string, id: string): PatternElem[] {
  const out: PatternElem[] = [];
  for (const part of type.split('::')) out.push(part, '::');
  out.push({ string: id });
  return out;
}

/** The tokens an expression was most likely written as, or null when that is not certain. */
function tokensOf(e: Expr): PatternElem[] | null {
  const node = e as Record<string, unknown>;
  const key = Object.keys(node)[0] ?? '';
  const body = node[key] as Record<string, unknown> & {
    left: Expr;
    right: Expr;
    arg: Expr;
    attr: unknown;
  };
  const seq = (...parts: Array<PatternElem[] | null>): PatternElem[] | null =>
    parts.some((p) => p === null) ? null : (parts as PatternElem[][]).flat();

  if (key === 'Var') return [body as unknown as string];
  if (key === 'Value') {
    const v = body as unknown;
    if (typeof v === 'number') return v < 0 ? ['-', String(-v)] : [String(v)];
    if (typeof v === 'boolean') return [String(v)];
    if (typeof v === 'string') return [{ string: v }];
    const entity = (v as { __entity?: { type: string; id: string } }).__entity;
    return entity ? entityTokens(entity.type, entity.id) : null;
  }
  if (key === '.') return seq(tokensOf(body.left), ['.', body.attr as unknown as string]);
  if (key === 'like') return seq(tokensOf(body.left), ['like', { string: null }]);
  if (key === '!') return seq(['!'], tokensOf(body.arg));
  if (key === 'has' && typeof body.attr === 'string')
    return seq(tokensOf(body.left), ['has', body.attr]);
  if (BINARY.includes(key)) return seq(tokensOf(body.left), [key], tokensOf(body.right));
  if (METHODS.includes(key)) {
    return seq(tokensOf(body.left), ['.', key, '('], tokensOf(body.right), [')']);
  }
  if (key === 'is') {
    const type = (body.entity_type as unknown as string).split('::').flatMap((p) => [p, '::']);
    return seq(tokensOf(body.left), ['is'], type.slice(0, -1));
  }
  const args = body as unknown;
  if (Array.isArray(args)) {
    const parts = (args as Expr[]).map(tokensOf);
    if (FUNCTIONS.has(key)) {
      const inner = parts.flatMap((p, i) => (i === 0 ? [p] : [[','], p]));
      return seq([key, '('], ...inner, [')']);
    }
    const rest = parts.slice(1).flatMap((p, i) => (i === 0 ? [p] : [[','], p]));
    return seq(parts[0] ?? null, ['.', key, '('], ...rest, [')']);
  }
  return null;
}

/** Token patterns to try, most precise first, for locating `e` in the policy text. */
export function patternsFor(e: Expr): PatternElem[][] {
  const out: PatternElem[][] = [];
  const full = tokensOf(e);
  if (full) out.push(full);

  const node = e as Record<string, unknown>;
  const key = Object.keys(node)[0] ?? '';
  const body = node[key] as { left?: Expr; arg?: Expr; attr?: string } | Expr[];
  if (Array.isArray(body)) {
    const receiver = body[0] ? tokensOf(body[0]) : null;
    if (receiver && !FUNCTIONS.has(key)) out.push([...receiver, '.', key]);
    out.push(FUNCTIONS.has(key) ? [key, '('] : ['.', key, '(']);
    for (const arg of body) out.push(...patternsFor(arg));
    return out;
  }
  if (key === 'Var') out.push([body as unknown as string]);
  if (key === 'if-then-else') {
    const condition = tokensOf((body as unknown as { if: Expr }).if);
    out.push(condition ? ['if', ...condition] : ['if']);
  }
  if (key === '.' && body.attr) out.push(['.', body.attr]);
  const left = body.left ? tokensOf(body.left) : null;
  if (left && key !== '.') out.push([...left, key]);
  if (key === 'like') out.push(['like', { string: null }]);
  if (body.left) out.push(...patternsFor(body.left));
  if (body.arg) out.push(...patternsFor(body.arg));
  return out;
}
