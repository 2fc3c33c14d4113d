/** Reading Cedar's JSON expressions: the shapes the compiler recognises. */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';

export type Node = { op: string; body: unknown };

export function nodeOf(e: Expr): Node {
  const op = Object.keys(e)[0] ?? '';
  return { op, body: (e as Record<string, unknown>)[op] };
}

export interface Binary {
  left: Expr;
  right: Expr;
}

export function binary(e: Expr, op: string): Binary | null {
  const n = nodeOf(e);
  return n.op === op ? (n.body as Binary) : null;
}

export function isVar(e: Expr, name: string): boolean {
  const n = nodeOf(e);
  return n.op === 'Var' && n.body === name;
}

/** `resource.<attr>` → attr. */
export function resourceAttr(e: Expr): string | null {
  const n = nodeOf(e);
  if (n.op !== '.') return null;
  const b = n.body as { left: Expr; attr: string };
  return isVar(b.left, 'resource') ? b.attr : null;
}

export function literal(e: Expr): unknown {
  const n = nodeOf(e);
  return n.op === 'Value' ? n.body : undefined;
}

export function entityLiteral(e: Expr): { type: string; id: string } | null {
  const v = literal(e) as { __entity?: { type: string; id: string } } | undefined;
  return v && typeof v === 'object' && v.__entity ? v.__entity : null;
}

/** `ip("…")` → its argument. */
export function ipLiteral(e: Expr): string | null {
  const n = nodeOf(e);
  if (n.op !== 'ip' || !Array.isArray(n.body) || n.body.length !== 1) return null;
  const arg = literal(n.body[0] as Expr);
  return typeof arg === 'string' ? arg : null;
}

/** Finds a use of `context`, `principal` or `action` anywhere inside `e`. */
export function findVar(e: unknown, names: string[]): Expr | null {
  if (e === null || typeof e !== 'object') return null;
  const record = e as Record<string, unknown>;
  if (typeof record.Var === 'string' && names.includes(record.Var)) return e as Expr;
  if ('Value' in record) return null;
  for (const child of Object.values(record)) {
    const found = findVar(child, names);
    if (found) return found;
  }
  return null;
}
