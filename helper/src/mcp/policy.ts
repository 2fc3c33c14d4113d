/**
 * What the MCP gateway asks of a session's policy: the verdict on one tool call (`McpCall`),
 * and whether a tool is worth listing at all. Permits are enforced: a call no permit matches
 * is denied, so an allowlist works.
 */
import { decideMcp, stringHolds, type McpRule, type PrincipalIR } from '@leash/policies';
import type { Mode } from '../session/modes';

export interface McpCall {
  server: string;
  tool: string;
  /** The call's arguments as JSON text, exactly as forwarded to the server. */
  arguments: string;
}

export interface McpDecision {
  /** `would-deny`: denied by the policy, let through because the session is not enforcing. */
  decision: 'allow' | 'deny' | 'would-deny';
  /** The determining policies (none on a default deny). */
  policies: string[];
}

export interface McpPolicy {
  decide(call: McpCall): McpDecision;
  /**
   * Whether `tools/list` shows the tool. A tool is hidden only when every call of it is denied
   * whatever its arguments: a forbid that holds for its server and name without looking at the
   * arguments, or no permit that could hold for its server and name. A tool whose verdict
   * depends on the arguments stays listed and each call is judged.
   */
  listable(server: string, tool: string): boolean;
}

const BUILTIN_PREFIX = 'leash:builtin/';

/** The MCP policy of one principal in one mode; `always` holds the `@always` policy ids. */
export function mcpPolicy(rules: PrincipalIR, mode: Mode, always: Set<string>): McpPolicy {
  // Outside enforce mode only the built-in rules and `@always` forbids deny.
  const held = (r: McpRule): boolean =>
    mode === 'enforce' ||
    (r.effect === 'forbid' && (r.id.startsWith(BUILTIN_PREFIX) || always.has(r.id)));

  return {
    decide(call) {
      const verdict = decideMcp(rules, call);
      if (verdict.decision === 'allow') return verdict;
      if (mode === 'enforce') return verdict;
      const holding = rules.mcp.filter(
        (r) => r.effect === 'forbid' && held(r) && verdict.policies.includes(r.id),
      );
      return holding.length > 0 ? verdict : { ...verdict, decision: 'would-deny' };
    },

    listable(server, tool) {
      if (mode !== 'enforce') {
        return !rules.mcp.some(
          (r) => r.effect === 'forbid' && held(r) && deniesAll(r, server, tool),
        );
      }
      if (rules.mcp.some((r) => r.effect === 'forbid' && deniesAll(r, server, tool))) return false;
      return rules.mcp.some((r) => r.effect === 'permit' && mayHold(r, server, tool));
    },
  };
}

/** The rule holds for this server and tool if its arguments matchers (if any) hold. */
function mayHold(r: McpRule, server: string, tool: string): boolean {
  return r.match.every(
    (m) => m.on === 'arguments' || stringHolds(m.match, m.on === 'server' ? server : tool),
  );
}

/** The rule holds for this server and tool whatever the arguments. */
function deniesAll(r: McpRule, server: string, tool: string): boolean {
  return r.match.every((m) => m.on !== 'arguments') && mayHold(r, server, tool);
}
