/**
 * The MCP gateway's judge for one conversation between a client and one MCP server. Every
 * `tools/call` from the client is decided by the policy before the server sees it; a denied
 * call is answered here with a JSON-RPC error naming the policy; `tools/list` results from
 * the server lose the tools the policy denies outright. Transport-free: the stdio bridge and
 * the HTTP proxy feed it texts and send on what it returns.
 */
import {
  errorResponse,
  idKey,
  INVALID_PARAMS,
  INVALID_REQUEST,
  parse,
  POLICY_DENIED,
  toWire,
  type ErrorResponse,
  type Id,
  type Message,
} from './jsonrpc';
import type { McpCall, McpDecision, McpPolicy } from './policy';

export interface JudgedCall extends McpCall, McpDecision {
  /** The JSON-RPC id of the call; absent when it came as a notification. */
  id?: Id;
}

export interface ClientOutcome {
  /** Text to send on to the server, if anything is left to send. */
  toServer?: string;
  /** Text to answer the client with at once (denials, invalid messages). */
  toClient?: string;
}

export class McpGate {
  /** Ids of forwarded `tools/list` requests whose results are still to be filtered. */
  private readonly listing = new Set<string>();
  /** Answers held back for a forwarded batch, to be merged into the server's batch reply. */
  private readonly heldForBatch: { ids: Set<string>; replies: ErrorResponse[] }[] = [];

  /**
   * `server`: the server's name as the policy knows it (never what the server says of
   * itself); `policy` is asked anew for each message, so a reloaded policy applies at once.
   */
  constructor(
    private readonly server: string,
    private readonly policy: () => McpPolicy,
    private readonly onCall: (call: JudgedCall) => void,
  ) {}

  /** One text from the client (a message or a batch). */
  fromClient(text: string): ClientOutcome {
    const parsed = parse(text);
    const forward: Record<string, unknown>[] = [];
    const replies: ErrorResponse[] = [];
    for (const item of parsed.items) {
      if (item.kind === 'invalid') {
        replies.push(item.reply);
        continue;
      }
      const refusal = this.judge(item);
      if (refusal === undefined) forward.push(toWire(item));
      else if (refusal !== 'drop') replies.push(refusal);
    }

    if (!parsed.batch) {
      if (forward[0]) return { toServer: JSON.stringify(forward[0]) };
      return replies[0] ? { toClient: JSON.stringify(replies[0]) } : {};
    }
    const awaited = forward.filter((m) => 'id' in m && 'method' in m).map((m) => idKey(m.id as Id));
    const out: ClientOutcome = {};
    if (forward.length > 0) out.toServer = JSON.stringify(forward);
    if (replies.length === 0) return out;
    // The server answers the forwarded part as one batch; the client expects one answer.
    if (awaited.length > 0) this.heldForBatch.push({ ids: new Set(awaited), replies });
    else out.toClient = JSON.stringify(replies);
    return out;
  }

  /** One text from the server; returns what the client gets. */
  fromServer(text: string): string {
    const parsed = parse(text);
    // What is not JSON-RPC carries no tool list to filter; the client sees it as it is.
    if (parsed.items.some((i) => i.kind === 'invalid')) return text;
    let changed = false;
    const out = (parsed.items as Message[]).map((m) => {
      if (m.kind !== 'response' || !this.listing.delete(idKey(m.id))) return toWire(m);
      const filtered = this.filterList(m.result);
      if (filtered === m.result) return toWire(m);
      changed = true;
      return toWire({ ...m, result: filtered });
    });
    if (parsed.batch) {
      const ids = new Set((parsed.items as Message[]).map((m) => ('id' in m ? idKey(m.id) : '')));
      const held = this.heldForBatch.findIndex((h) => [...h.ids].some((id) => ids.has(id)));
      if (held >= 0) {
        const [h] = this.heldForBatch.splice(held, 1);
        return JSON.stringify([...out, ...(h?.replies ?? [])]);
      }
    }
    if (!changed) return text;
    return JSON.stringify(parsed.batch ? out : out[0]);
  }

  /** Answers held for forwarded batches, taken out (for a reply that comes as separate
   *  messages, as SSE may send it). */
  takeHeld(): ErrorResponse[] {
    return this.heldForBatch.splice(0).flatMap((h) => h.replies);
  }

  /** Undefined to forward the message; an error to answer with; 'drop' to send nothing. */
  private judge(m: Message): ErrorResponse | 'drop' | undefined {
    if (m.kind === 'response') return undefined;
    const id = m.kind === 'request' ? m.id : undefined;
    const canonical = m.method.trim().toLowerCase();
    if (canonical !== m.method && (canonical === 'tools/call' || canonical === 'tools/list')) {
      // A server that matched methods loosely would run a call the gate did not see as one.
      const why = `Invalid Request: write the method as ${canonical}`;
      return id === undefined ? 'drop' : errorResponse(id, INVALID_REQUEST, why);
    }
    if (m.method === 'tools/list' && id !== undefined) this.listing.add(idKey(id));
    if (m.method !== 'tools/call') return undefined;

    const params = (m.params ?? {}) as Record<string, unknown>;
    const args = params.arguments;
    const bad =
      typeof params.name !== 'string' || params.name === ''
        ? 'params.name must be the tool name, a non-empty string'
        : args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))
          ? 'params.arguments must be an object'
          : undefined;
    if (bad !== undefined) {
      return id === undefined
        ? 'drop'
        : errorResponse(id, INVALID_PARAMS, `Invalid params: ${bad}`);
    }

    const call: McpCall = {
      server: this.server,
      tool: params.name as string,
      arguments: JSON.stringify(args ?? {}),
    };
    const decision = this.policy().decide(call);
    this.onCall(id === undefined ? { ...call, ...decision } : { ...call, ...decision, id });
    if (decision.decision !== 'deny') return undefined;
    if (id === undefined) return 'drop';
    return errorResponse(id, POLICY_DENIED, denialMessage(call, decision), {
      server: call.server,
      tool: call.tool,
      decision: 'deny',
      policies: decision.policies,
    });
  }

  private filterList(result: unknown): unknown {
    const r = result as { tools?: unknown };
    if (typeof r !== 'object' || r === null || !Array.isArray(r.tools)) return result;
    const policy = this.policy();
    const tools = r.tools.filter((t: unknown) => {
      const name = (t as { name?: unknown } | null)?.name;
      // A tool without a name cannot be called, so it cannot be allowed either.
      return typeof name === 'string' && policy.listable(this.server, name);
    });
    return tools.length === r.tools.length ? result : { ...r, tools };
  }
}

/** The message a denied call gets: which policy denied it, or what permit it lacks. */
export function denialMessage(call: McpCall, decision: McpDecision): string {
  const tool = `McpTool::"${call.server}/${call.tool}"`;
  return decision.policies.length > 0
    ? `leash: ${tool} denied by policy ${decision.policies.join(', ')}`
    : `leash: ${tool} denied by default: no policy permits McpCall on it ` +
        `(add a permit for action == Leash::Action::"McpCall", resource == Leash::${tool})`;
}
