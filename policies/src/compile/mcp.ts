/**
 * McpCall conditions → MCP matchers: the server and the tool (`Leash::McpServer`,
 * `Leash::McpTool` entities, `resource.server`, `resource.name`) and `context.arguments`.
 */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { McpMatcher } from '../ir';
import type { AtomCompiler } from './condition';
import { CompileError } from './errors';
import { binary, entityLiteral, isVar, nodeOf, resourceAttr } from './expr';
import { and, atom, FALSE, not, or, TRUE, type Formula } from './formula';
import { namedScope, resourceEquality } from './scope';
import { negateString, stringAtom, type StringSubjects } from './strings';

type F = Formula<McpMatcher>;

const negate = (m: McpMatcher): McpMatcher => ({ on: m.on, match: negateString(m.match) });

const equals = (on: McpMatcher['on'], value: string): F =>
  atom({ on, match: { kind: 'equals', value } });

function checkServer(name: string, at?: Expr): void {
  if (name === '' || name.includes('/')) {
    throw new CompileError(
      'mcp-server-name',
      `"${name}" can never name an MCP server: server names are not empty and hold no "/". ` +
        'Write the name the server is configured under, such as McpServer::"github".',
      at,
    );
  }
}

/** `McpTool::"server/tool"` → the server and the tool it names. */
function tool(id: string, at?: Expr): F {
  const cut = id.indexOf('/');
  if (cut <= 0 || cut === id.length - 1) {
    throw new CompileError(
      'mcp-tool-id',
      `McpTool id "${id}" can never match: tool ids are "<server>/<tool>", ` +
        'such as McpTool::"github/create_issue".',
      at,
    );
  }
  return and(equals('server', id.slice(0, cut)), equals('tool', id.slice(cut + 1)));
}

/** `resource == E` (`op` '==') or `resource in E` for an entity literal. */
function mcpEntity(op: '==' | 'in', type: string, id: string, at?: Expr): F {
  if (type === 'Leash::McpTool') return tool(id, at);
  if (type === 'Leash::McpServer' && op === 'in') {
    checkServer(id, at);
    return equals('server', id);
  }
  return FALSE;
}

const SUBJECTS: StringSubjects<McpMatcher> = {
  subject(e) {
    const attr = resourceAttr(e);
    if (attr === 'server') return 'server';
    if (attr === 'name') return 'tool';
    const n = nodeOf(e);
    if (n.op !== '.') return null;
    const b = n.body as { left: Expr; attr: string };
    return isVar(b.left, 'context') && b.attr === 'arguments' ? 'arguments' : null;
  },
  make: (subject, match) => ({ on: subject as McpMatcher['on'], match }),
};

function unsupported(e: Expr): CompileError {
  return new CompileError(
    'unsupported-mcp',
    'this condition cannot be enforced on MCP calls. The compiler understands ' +
      '`resource == Leash::McpTool::"server/tool"`, `resource in Leash::McpServer::"…"`, ' +
      '`resource.server` and `resource.name` (the tool) with `==` or `like`, and ' +
      '`context.arguments like "…"`, joined with `&&`, `||` and `!`.',
    e,
  );
}

export function mcpAtoms(): AtomCompiler<McpMatcher> {
  const atomOf = (e: Expr): F => {
    const n = nodeOf(e);
    if (n.op === 'has') {
      const b = n.body as { left: Expr; attr: string };
      if (isVar(b.left, 'context')) return b.attr === 'arguments' ? TRUE : FALSE;
      if (isVar(b.left, 'resource')) return b.attr === 'server' || b.attr === 'name' ? TRUE : FALSE;
    }
    const text = stringAtom(e, SUBJECTS, negate);
    if (text) return text;
    const named = resourceEquality(e, (type, id, at) => mcpEntity('==', type, id, at), negate);
    if (named) return named;
    const inside = binary(e, 'in');
    if (inside && isVar(inside.left, 'resource')) {
      const one = entityLiteral(inside.right);
      if (one) return mcpEntity('in', one.type, one.id, inside.right);
      const set = nodeOf(inside.right);
      if (set.op === 'Set' && Array.isArray(set.body)) {
        return (set.body as Expr[]).reduce<F>((acc, item) => {
          const entity = entityLiteral(item);
          if (!entity) throw unsupported(e);
          return or(acc, mcpEntity('in', entity.type, entity.id, item));
        }, FALSE);
      }
    }
    if (n.op === 'is') {
      const b = n.body as { left: Expr; entity_type: string; in?: Expr };
      if (isVar(b.left, 'resource')) {
        if (b.entity_type !== 'Leash::McpTool') return FALSE;
        if (!b.in) return TRUE;
        const parent = entityLiteral(b.in);
        if (parent) return mcpEntity('in', parent.type, parent.id, b.in);
      }
    }
    throw unsupported(e);
  };
  return { subject: 'MCP calls', atom: atomOf, negate, context: true };
}

/** The resource scope of an McpCall policy. */
export function mcpScope(json: PolicyJson): F {
  return namedScope(json, 'Leash::McpTool', mcpEntity);
}
