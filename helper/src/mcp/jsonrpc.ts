/**
 * JSON-RPC 2.0 as MCP uses it: one text holds a message or a batch (an array of messages).
 * Parsing never throws; what is not valid JSON-RPC comes back as the error response the
 * other side should get.
 */

export type Id = string | number | null;

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export type Message =
  | { kind: 'request'; id: Id; method: string; params?: unknown }
  | { kind: 'notification'; method: string; params?: unknown }
  | { kind: 'response'; id: Id; result?: unknown; error?: RpcError };

/** A member of a text that is not a JSON-RPC message, with the error response it earns. */
export interface Invalid {
  kind: 'invalid';
  reply: ErrorResponse;
}

export interface ErrorResponse {
  jsonrpc: '2.0';
  id: Id;
  error: RpcError;
}

export type Parsed =
  /** A single message (or a single invalid one). */
  | { batch: false; items: [Message | Invalid] }
  /** A batch: each member in order. */
  | { batch: true; items: (Message | Invalid)[] };

/** The standard codes, and Leash's own for a call the policy denies. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;
/** In the range JSON-RPC leaves to implementations. */
export const POLICY_DENIED = -32001;

export function errorResponse(
  id: Id,
  code: number,
  message: string,
  data?: unknown,
): ErrorResponse {
  const error: RpcError = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

/** Parses one text; invalid JSON is a single invalid item with a parse error. */
export function parse(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reply = errorResponse(null, PARSE_ERROR, `Parse error: ${(err as Error).message}`);
    return { batch: false, items: [{ kind: 'invalid', reply }] };
  }
  if (!Array.isArray(value)) return { batch: false, items: [classify(value)] };
  if (value.length === 0) {
    const reply = errorResponse(null, INVALID_REQUEST, 'Invalid Request: empty batch');
    return { batch: false, items: [{ kind: 'invalid', reply }] };
  }
  return { batch: true, items: value.map(classify) };
}

function isId(v: unknown): v is Id {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function invalid(id: Id, why: string): Invalid {
  return { kind: 'invalid', reply: errorResponse(id, INVALID_REQUEST, `Invalid Request: ${why}`) };
}

/** One value of a text: a request, a notification, a response, or why it is none. */
export function classify(v: unknown): Message | Invalid {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return invalid(null, 'a message must be a JSON object');
  }
  const o = v as Record<string, unknown>;
  const id = isId(o.id) ? o.id : null;
  if (o.jsonrpc !== '2.0') return invalid(id, 'jsonrpc must be "2.0"');
  if ('id' in o && !isId(o.id)) return invalid(null, 'id must be a string, a number or null');

  if ('method' in o) {
    if (typeof o.method !== 'string') return invalid(id, 'method must be a string');
    if ('params' in o && (typeof o.params !== 'object' || o.params === null)) {
      return invalid(id, 'params must be an object or an array');
    }
    if (!('id' in o)) return { kind: 'notification', method: o.method, params: o.params };
    return { kind: 'request', id, method: o.method, params: o.params };
  }

  if (!('id' in o)) return invalid(null, 'a message needs a method or an id');
  const hasResult = 'result' in o;
  const hasError = 'error' in o;
  if (hasResult === hasError) return invalid(id, 'a response has exactly one of result and error');
  if (hasError && !isRpcError(o.error)) {
    return invalid(id, 'error must be an object with a numeric code and a message');
  }
  return hasResult
    ? { kind: 'response', id, result: o.result }
    : { kind: 'response', id, error: o.error as RpcError };
}

function isRpcError(v: unknown): v is RpcError {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.code === 'number' && typeof e.message === 'string';
}

/** The wire form of a message: exactly the fields that were judged, nothing else. */
export function toWire(m: Message): Record<string, unknown> {
  if (m.kind === 'response') {
    return m.error === undefined
      ? { jsonrpc: '2.0', id: m.id, result: m.result }
      : { jsonrpc: '2.0', id: m.id, error: m.error };
  }
  const wire: Record<string, unknown> = { jsonrpc: '2.0' };
  if (m.kind === 'request') wire.id = m.id;
  wire.method = m.method;
  if (m.params !== undefined) wire.params = m.params;
  return wire;
}

/** A key that tells ids apart by type too (`1` and `"1"` are different ids). */
export function idKey(id: Id): string {
  return JSON.stringify(id);
}
