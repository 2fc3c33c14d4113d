/** File conditions (ReadFile, WriteFile) → path matchers: exact, prefix, suffix. */
import type { Expr, PatternElem } from '@cedar-policy/cedar-wasm/nodejs';
import type { PathMatcher } from '../ir';
import { isNormalPath, ROOTS, rootPath, type Roots } from '../paths';
import type { AtomCompiler } from './condition';
import { CompileError } from './errors';
import { entityLiteral, isVar, literal, nodeOf, resourceAttr, binary } from './expr';
import { and, atom, FALSE, not, or, TRUE, type Formula } from './formula';

type F = Formula<PathMatcher>;

const negate = (m: PathMatcher): PathMatcher => ({ ...m, negate: !m.negate });
const exact = (value: string): F => atom({ kind: 'exact', value });
const prefix = (value: string): F => atom({ kind: 'prefix', value });
const suffix = (value: string): F => atom({ kind: 'suffix', value });

/** `Dir::"@workspace/src"` → `/w/src`; refuses ids that are not absolute, normalised paths. */
function resolveDir(id: string, roots: Roots, at?: Expr): string {
  const root = ROOTS.find((r) => id === r || id.startsWith(r + '/'));
  if (root) {
    const rest = id.slice(root.length);
    if (rest !== '' && !isNormalPath(rest)) {
      throw new CompileError(
        'path-not-normal',
        `Dir id "${id}" is not normalised: write it without ".", "..", "//" or a trailing slash.`,
        at,
      );
    }
    const base = rootPath(root, roots);
    return base === '/' ? rest || '/' : base + rest;
  }
  if (id.startsWith('@')) {
    throw new CompileError(
      'unknown-root',
      `Dir id "${id}" names an unknown root: the roots are @workspace and @home.`,
      at,
    );
  }
  if (!isNormalPath(id)) {
    throw new CompileError(
      'path-not-normal',
      `Dir id "${id}" is not an absolute, normalised path: write it like "/etc" or ` +
        `"@workspace/src" (no ".", "..", "//" or trailing slash).`,
      at,
    );
  }
  return id;
}

/** File ids are the real paths of files, never `@` forms. */
function checkFileId(id: string, at?: Expr): string {
  if (id.startsWith('@')) {
    throw new CompileError(
      'file-id-root',
      `File id "${id}" can never match: files are named by their real path. ` +
        `To name a path under a root, write \`resource in Leash::Dir::"${id}"\`.`,
      at,
    );
  }
  if (!isNormalPath(id)) {
    throw new CompileError(
      'path-not-normal',
      `File id "${id}" is not an absolute, normalised path: write it like "/etc/hosts" ` +
        `(no ".", "..", "//" or trailing slash).`,
      at,
    );
  }
  return id;
}

/** `resource in E` / `resource == E` / `resource is T in E` for an entity literal E. */
export function fileEntity(op: 'in' | '==', type: string, id: string, roots: Roots, at?: Expr): F {
  if (type === 'Leash::Dir' && op === 'in') return prefix(resolveDir(id, roots, at));
  if (type === 'Leash::File') return exact(checkFileId(id, at));
  return FALSE;
}

/** Splits a `like` pattern into literal runs around its wildcards. */
function patternParts(pattern: PatternElem[]): {
  text: string;
  lead: boolean;
  trail: boolean;
  inner: boolean;
} {
  const runs: Array<string | null> = [];
  for (const p of pattern) {
    const last = runs[runs.length - 1];
    if (p === 'Wildcard') {
      if (last !== null || runs.length === 0) runs.push(null);
    } else if (typeof last === 'string') runs[runs.length - 1] = last + p.Literal;
    else runs.push(p.Literal);
  }
  const literals = runs.filter((r): r is string => r !== null);
  const lead = runs[0] === null;
  const trail = runs.length > 0 && runs[runs.length - 1] === null;
  return { text: literals.join(''), lead, trail, inner: literals.length > 1 };
}

function likePath(pattern: PatternElem[], e: Expr): F {
  const { text, lead, trail, inner } = patternParts(pattern);
  if (inner || (lead && trail && text !== '')) {
    throw new CompileError(
      'unsupported-pattern',
      'a path pattern with `*` anywhere but at one end cannot be enforced exactly: the ' +
        'kernel matches a path by exact value, by directory or by suffix. Write ' +
        '`resource in Leash::Dir::"…"`, `resource.path like "*suffix"` or ' +
        '`resource.path like "/dir/*"`.',
      e,
    );
  }
  if (text === '') return lead || trail ? TRUE : FALSE;
  if (lead) return suffix(text);
  if (!trail) {
    if (!isNormalPath(text)) throw notNormal(text, e);
    return exact(text);
  }
  if (text === '/') return TRUE;
  const dir = text.slice(0, -1);
  if (!text.endsWith('/') || !isNormalPath(dir)) {
    throw new CompileError(
      'unsupported-pattern',
      `\`like "${text}*"\` matches by string prefix, which the kernel cannot enforce exactly ` +
        `(it would also cover names that merely start the same way). Write ` +
        `\`resource in Leash::Dir::"${text.replace(/\/+$/, '') || '/'}"\` ` +
        'or end the pattern with "/*".',
      e,
    );
  }
  // Everything strictly below `dir`.
  return and(prefix(dir), not(exact(dir), negate));
}

function likeName(pattern: PatternElem[], e: Expr): F {
  const { text, lead, trail, inner } = patternParts(pattern);
  if (text.includes('/')) {
    throw new CompileError(
      'name-slash',
      'a file name never contains "/"; match the path instead.',
      e,
    );
  }
  if (inner || trail) {
    throw new CompileError(
      'unsupported-pattern',
      'only `resource.name like "*suffix"` (or an exact name) can be enforced: the kernel ' +
        'matches names by suffix. Write a pattern that starts with `*` and has no other `*`.',
      e,
    );
  }
  if (text === '') return lead ? TRUE : exact('/');
  return suffix(lead ? text : '/' + text);
}

function notNormal(path: string, e: Expr): CompileError {
  return new CompileError(
    'path-not-normal',
    `"${path}" is not an absolute, normalised path, so no file ever has it: ` +
      'write it like "/etc/hosts" (no ".", "..", "//" or trailing slash).',
    e,
  );
}

function unsupported(e: Expr): CompileError {
  return new CompileError(
    'unsupported-expression',
    'this condition cannot be enforced on files. The compiler understands ' +
      '`resource in Leash::Dir::"…"`, `resource == Leash::File::"…"`, `resource.path == "…"`, ' +
      '`resource.path like "*suffix"` or `"/dir/*"`, `resource.name == "…"` and ' +
      '`resource.name like "*suffix"`, ' +
      'joined with `&&`, `||` and `!`.',
    e,
  );
}

function equality(e: Expr, left: Expr, right: Expr, roots: Roots): F {
  for (const [a, b] of [
    [left, right],
    [right, left],
  ] as const) {
    const entity = entityLiteral(b);
    if (isVar(a, 'resource') && entity) return fileEntity('==', entity.type, entity.id, roots, b);
    const attr = resourceAttr(a);
    const value = literal(b);
    if (attr === 'path' && typeof value === 'string') {
      if (!isNormalPath(value)) throw notNormal(value, e);
      return exact(value);
    }
    if (attr === 'name' && typeof value === 'string') {
      return likeName([{ Literal: value }], e);
    }
  }
  throw unsupported(e);
}

export function fileAtoms(roots: Roots): AtomCompiler<PathMatcher> {
  const atomOf = (e: Expr): F => {
    const n = nodeOf(e);
    const eq = binary(e, '==') ?? binary(e, '!=');
    if (eq) {
      const f = equality(e, eq.left, eq.right, roots);
      return n.op === '==' ? f : not(f, negate);
    }
    const inside = binary(e, 'in');
    if (inside && isVar(inside.left, 'resource')) {
      const one = entityLiteral(inside.right);
      if (one) return fileEntity('in', one.type, one.id, roots, inside.right);
      const set = nodeOf(inside.right);
      if (set.op === 'Set' && Array.isArray(set.body)) {
        return (set.body as Expr[]).reduce<F>((acc, item) => {
          const entity = entityLiteral(item);
          if (!entity) throw unsupported(e);
          return or(acc, fileEntity('in', entity.type, entity.id, roots, item));
        }, FALSE);
      }
    }
    if (n.op === 'like') {
      const b = n.body as { left: Expr; pattern: PatternElem[] };
      const attr = resourceAttr(b.left);
      if (attr === 'path') return likePath(b.pattern, e);
      if (attr === 'name') return likeName(b.pattern, e);
    }
    if (n.op === 'is') {
      const b = n.body as { left: Expr; entity_type: string; in?: Expr };
      if (isVar(b.left, 'resource')) {
        if (b.entity_type !== 'Leash::File') return FALSE;
        const parent = b.in ? entityLiteral(b.in) : null;
        if (!b.in) return TRUE;
        if (parent) return fileEntity('in', parent.type, parent.id, roots, b.in);
      }
    }
    throw unsupported(e);
  };
  return { subject: 'files', atom: atomOf, negate };
}
