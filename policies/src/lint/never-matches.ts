/**
 * L002: a policy, or a part of it, that no request can ever match: contradictory conditions
 * (disjoint CIDR ranges, ports, paths), or a port outside 0–65535.
 */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';
import { binary, literal, resourceAttr } from '../compile/expr';
import { patternsFor } from '../compile/errors';
import { findTokens } from '../source';
import { unsatisfiable, type Matcher } from './matchers';
import { execUnsatisfiable, httpUnsatisfiable, mcpUnsatisfiable } from './string-matchers';
import { warning, type LintInput, type LintPolicy, type LintRule } from './rule';

const COMPARISONS = ['==', '!=', '<', '<=', '>', '>='];
const MAX_PORT = 65535;

const never = (alternatives: Matcher[][] | null | undefined): boolean =>
  alternatives !== null && alternatives !== undefined && alternatives.every(unsatisfiable);

/** Every comparison of `resource.port` with a number outside the port range. */
function portsOutOfRange(e: unknown, out: Array<{ expr: Expr; port: number }>): void {
  if (e === null || typeof e !== 'object') return;
  for (const op of COMPARISONS) {
    const b = binary(e as Expr, op);
    if (!b) continue;
    for (const [side, other] of [
      [b.left, b.right],
      [b.right, b.left],
    ] as const) {
      const value = literal(other);
      if (resourceAttr(side) === 'port' && typeof value === 'number') {
        if (value < 0 || value > MAX_PORT) out.push({ expr: e as Expr, port: value });
      }
    }
  }
  if ('Value' in (e as Record<string, unknown>)) return;
  for (const child of Object.values(e as Record<string, unknown>)) portsOutOfRange(child, out);
}

function portFindings(input: LintInput, policy: LintPolicy) {
  const found: Array<{ expr: Expr; port: number }> = [];
  for (const clause of policy.json.conditions) portsOutOfRange(clause.body, found);
  return found.map(({ expr, port }) => {
    const at =
      patternsFor(expr)
        .map((pattern) => findTokens(policy.source.conditions, pattern))
        .find((range) => range !== null) ?? policy.source.head;
    return warning(
      input,
      at,
      'L002',
      `port ${port} is outside 0–65535: no endpoint has it, so this comparison is true for ` +
        'every endpoint or for none. Write a port between 0 and 65535.',
    );
  });
}

export const neverMatches: LintRule = {
  code: 'L002',
  run(input) {
    return input.policies.flatMap((policy) => {
      const { files, connects, exec, http, mcp, id, effect } = policy.compiled;
      const parts: string[] = [];
      if (files && never(files.alternatives)) parts.push('file');
      if (connects && never(connects)) parts.push('connect');
      if (exec?.every(execUnsatisfiable)) parts.push('Exec');
      if (http?.alternatives.every(httpUnsatisfiable)) parts.push('HTTP');
      if (mcp?.every(mcpUnsatisfiable)) parts.push('MCP');
      const whole = parts.map((what) =>
        warning(
          input,
          policy.source.head,
          'L002',
          `${effect} "${id}" can never match a ${what} request: its scope and conditions ` +
            'contradict each other (disjoint paths, address ranges, ports or names), so it has ' +
            'no effect. Fix the condition or remove the policy.',
        ),
      );
      return [...whole, ...portFindings(input, policy)];
    });
  },
};
