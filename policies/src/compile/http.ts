/**
 * HttpRequest conditions → HTTP matchers: the host (`Leash::Host` entity or `resource.name`),
 * `resource.port`, `context.method` and `context.path`.
 */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { HttpMatcher, StringMatcher } from '../ir';
import { parseAddress } from '../ip';
import type { AtomCompiler } from './condition';
import { CompileError } from './errors';
import { binary, entityLiteral, isVar, nodeOf, resourceAttr } from './expr';
import { atom, FALSE, not, or, TRUE, type Formula } from './formula';
import { portComparison } from './ports';
import { namedScope, resourceEquality } from './scope';
import { literalText, negateString, stringAtom, type StringSubjects } from './strings';

type F = Formula<HttpMatcher>;

function negate(m: HttpMatcher): HttpMatcher {
  if (m.on === 'port') return { ...m, negate: !m.negate };
  return { on: m.on, match: negateString(m.match) };
}

function contextAttr(e: Expr): string | null {
  const n = nodeOf(e);
  if (n.op !== '.') return null;
  const b = n.body as { left: Expr; attr: string };
  return isVar(b.left, 'context') ? b.attr : null;
}

/** An IPv6 address as the proxy writes it: lower-case, without brackets. */
const isIpv6 = (text: string): boolean => text.includes(':') && parseAddress(text) !== null;

/** Host names are judged lower-case, without a port or a trailing dot (IPv6: no brackets). */
export function checkHost(text: string, at?: Expr): void {
  const port = text.includes(':') && !isIpv6(text);
  if (text !== text.toLowerCase() || text.endsWith('.') || port || /[/\s[\]]/.test(text)) {
    throw new CompileError(
      'host-not-canonical',
      `"${text}" can never match a host: hosts are judged as lower-case names without a ` +
        `port, path or trailing dot. Write "${canonical(text)}"` +
        ' (and constrain the port with `resource.port`).',
      at,
    );
  }
}

function canonical(text: string): string {
  const host = text
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '')
    .replace(/[/:].*$/, '');
  return host.replace(/\.+$/, '');
}

const SUBJECTS: StringSubjects<HttpMatcher> = {
  subject(e) {
    if (resourceAttr(e) === 'name') return 'host';
    const attr = contextAttr(e);
    return attr === 'method' || attr === 'path' ? attr : null;
  },
  make: (subject, match) => ({ on: subject as 'host' | 'method' | 'path', match }),
  check(subject, m: StringMatcher, at) {
    const text = literalText(m);
    if (subject === 'host') {
      // Only the pieces can be checked: `*.` is a fine pattern, a trailing literal dot is not.
      if (m.kind === 'equals') checkHost(text, at);
      else if (text !== text.toLowerCase() || /[/\s[\]]/.test(text)) checkHost(text, at);
    }
    if (subject === 'method' && text !== text.toUpperCase()) {
      throw new CompileError(
        'method-not-uppercase',
        `"${text}" can never match a method: methods are judged upper-case. ` +
          `Write "${text.toUpperCase()}".`,
        at,
      );
    }
  },
};

function host(id: string, at?: Expr): F {
  checkHost(id, at);
  return atom({ on: 'host', match: { kind: 'equals', value: id } });
}

/** `resource == E` / `resource in E` for an entity literal: a host, or nothing. */
function hostEntity(type: string, id: string, at?: Expr): F {
  return type === 'Leash::Host' ? host(id, at) : FALSE;
}

function unsupported(e: Expr): CompileError {
  return new CompileError(
    'unsupported-http',
    'this condition cannot be enforced on HTTP requests. The compiler understands ' +
      '`resource == Leash::Host::"…"`, `resource.name == "…"`, `resource.name like "*.…"`, ' +
      'comparisons of `resource.port` with a number, `context.method == "…"` and ' +
      '`context.path == "…"` or `like "…"`, joined with `&&`, `||` and `!`.',
    e,
  );
}

export function httpAtoms(): AtomCompiler<HttpMatcher> {
  const atomOf = (e: Expr): F => {
    const n = nodeOf(e);
    if (n.op === 'has') {
      const b = n.body as { left: Expr; attr: string };
      if (isVar(b.left, 'context')) return b.attr === 'method' || b.attr === 'path' ? TRUE : FALSE;
      if (isVar(b.left, 'resource')) return b.attr === 'name' || b.attr === 'port' ? TRUE : FALSE;
    }
    const port = portComparison<HttpMatcher>(
      e,
      (x) => resourceAttr(x) === 'port',
      (lo, hi) => ({ on: 'port', lo, hi }),
      negate,
    );
    if (port) return port;
    const text = stringAtom(e, SUBJECTS, negate);
    if (text) return text;
    const named = resourceEquality(e, hostEntity, negate);
    if (named) return named;
    const inside = binary(e, 'in');
    if (inside && isVar(inside.left, 'resource')) {
      const one = entityLiteral(inside.right);
      if (one) return hostEntity(one.type, one.id, inside.right);
      const set = nodeOf(inside.right);
      if (set.op === 'Set' && Array.isArray(set.body)) {
        return (set.body as Expr[]).reduce<F>((acc, item) => {
          const entity = entityLiteral(item);
          if (!entity) throw unsupported(e);
          return or(acc, hostEntity(entity.type, entity.id, item));
        }, FALSE);
      }
    }
    if (n.op === 'is') {
      const b = n.body as { left: Expr; entity_type: string; in?: Expr };
      if (isVar(b.left, 'resource')) {
        if (b.entity_type !== 'Leash::Host') return FALSE;
        if (!b.in) return TRUE;
        const parent = entityLiteral(b.in);
        if (parent) return hostEntity(parent.type, parent.id, b.in);
      }
    }
    throw unsupported(e);
  };
  return { subject: 'HTTP requests', atom: atomOf, negate, context: true };
}

/** The resource scope of an HttpRequest policy (`==` and `in` a Host are the same: a Host has
 *  no parents). */
export function httpScope(json: PolicyJson): F {
  return namedScope(json, 'Leash::Host', (_op, type, id, at) => hostEntity(type, id, at));
}
