/**
 * A session's side of MCP governance: its policy as the gateway sees it (always the one in
 * force, so a reload applies to the next call) and the audit row of every judged call.
 */
import type { PrincipalIR } from '@leash/policies';
import type { AuditWriter } from '../audit/writer';
import type { Mode } from '../session/modes';
import { nowRfc3339Nano } from '../time';
import { McpGate, type JudgedCall } from './gate';
import { mcpPolicy, type McpPolicy } from './policy';

/** What the gateway reads of its session, live. */
export interface McpSessionView {
  name: string;
  /** The agent principal that makes the calls. */
  principal: string;
  rules(): PrincipalIR;
  mode(): Mode;
  always(): Set<string>;
  /** Counts a denial on the session. */
  denied(): void;
}

/** How a call reached the gateway: the stdio bridge or the HTTP proxy. */
export type McpTransport = 'stdio' | 'http';

/** Arguments longer than this are cut in the audit row (the verdict saw all of them). */
const ARGUMENTS_LOGGED = 1000;

export class SessionMcp {
  private cached?: { rules: PrincipalIR; mode: Mode; always: Set<string>; policy: McpPolicy };

  constructor(
    private readonly session: McpSessionView,
    private readonly audit: AuditWriter,
  ) {}

  policy(): McpPolicy {
    const rules = this.session.rules();
    const mode = this.session.mode();
    const always = this.session.always();
    const c = this.cached;
    if (c && c.rules === rules && c.mode === mode && c.always === always) return c.policy;
    const policy = mcpPolicy(rules, mode, always);
    this.cached = { rules, mode, always, policy };
    return policy;
  }

  /** A judge for one conversation with the server known to the policy as `server`. */
  gate(server: string, transport: McpTransport): McpGate {
    return new McpGate(
      server,
      () => this.policy(),
      (call) => this.record(call, transport),
    );
  }

  /** A governed server starting or stopping in the sandbox, as its own principal. */
  recordServer(server: string, action: 'Start' | 'Stop', details: Record<string, unknown>): void {
    this.audit.push({
      time: nowRfc3339Nano(),
      session: this.session.name,
      principal: `mcp:${server}`,
      kind: 'mcp',
      action,
      resource: server,
      decision: '',
      policies: [],
      count: 1,
      pid: 0,
      comm: '',
      details: { server, ...details },
    });
  }

  /** The audit row of one judged call, attributed to the agent inside the sandbox. */
  record(call: JudgedCall, transport: McpTransport): void {
    if (call.decision === 'deny') this.session.denied();
    const details: Record<string, unknown> = {
      server: call.server,
      tool: call.tool,
      arguments: call.arguments.slice(0, ARGUMENTS_LOGGED),
      transport,
      // The call was made inside the sandbox; leashd judged it on its way to the server.
      source: 'sandbox',
    };
    if (call.arguments.length > ARGUMENTS_LOGGED) details.argumentsTruncated = true;
    if (call.id !== undefined) details.id = call.id;
    this.audit.push({
      time: nowRfc3339Nano(),
      session: this.session.name,
      principal: this.session.principal,
      kind: 'mcp',
      action: 'McpCall',
      resource: `${call.server}/${call.tool}`,
      decision: call.decision,
      policies: call.policies,
      count: 1,
      pid: 0,
      comm: '',
      details,
    });
  }
}
