/**
 * MCP over streamable HTTP, for the proxy: `governMcpHttp` is called once per HTTP request
 * the proxy has read in full (and has already allowed by its own HttpRequest rules). It tells
 * the proxy whether the request is MCP at all; if it is, what to send upstream (or what to
 * answer at once), and how to pass the upstream response back (JSON or SSE), with denied
 * calls answered and tools/list results filtered.
 *
 * An HTTP MCP server's name, for `McpServer` / `McpTool::"<server>/<tool>"`, is the host name
 * of the request as the proxy judged it: lower-case, without port and without trailing dot
 * (so `https://mcp.example.com:8443/mcp` is server `mcp.example.com`).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { McpGate } from './gate';
import { errorResponse, INVALID_REQUEST, PARSE_ERROR } from './jsonrpc';
import type { SessionMcp } from './session-mcp';

export interface McpHttpRequest {
  /** Lower-case host name without port or trailing dot: the server's name. */
  host: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type McpHttpOutcome =
  /** Not MCP: the proxy carries on with the request as it is. */
  | { kind: 'pass' }
  /** Answer the client with this and send nothing upstream. */
  | { kind: 'answer'; status: number; headers: OutgoingHttpHeaders; body: Buffer }
  /**
   * Send `body` upstream instead of the original (set Content-Length to its length and drop
   * Accept-Encoding, so the response comes back readable), then pass the upstream response
   * through `response`.
   */
  | { kind: 'forward'; body: Buffer; response: McpResponseFilter };

export interface McpResponseFilter {
  /** Given the upstream status and headers: what to send the client instead, and a transform
   *  for the body (identity for what it need not read). */
  start(
    status: number,
    headers: IncomingHttpHeaders,
  ): { status: number; headers: IncomingHttpHeaders; body: Transform };
}

/** Larger JSON responses are passed on unfiltered rather than held in memory. */
const MAX_JSON_RESPONSE = 16 * 1024 * 1024;

export function governMcpHttp(req: McpHttpRequest, session: SessionMcp): McpHttpOutcome {
  // Any method with a body is looked at: a server may take JSON-RPC on PUT as well as POST.
  if (req.body.length === 0) return { kind: 'pass' };
  // A body declared as JSON must be readable here, or a call could hide in a form this check
  // cannot read (a byte-order mark, another encoding, compression) and that a server accepts.
  // JSON that reads and is not JSON-RPC is some other API's and passes.
  const marked = looksLikeMcp(req.headers);
  const mustRead = marked || declaresJson(req.headers);
  const text = withoutBom(req.body.toString('utf8'));
  const rpc = isJsonRpc(text);
  // MCP's headers are also what other streaming APIs send (a model API asked for an event
  // stream): without `jsonrpc` or a `method`, which every JSON-RPC request or notification names,
  // no server could take the body as a call.
  if (rpc === false && (!marked || !namesMethod(text))) return { kind: 'pass' };
  if (rpc === 'unparsable' && !mustRead) return { kind: 'pass' };

  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    const body = errorResponse(
      null,
      INVALID_REQUEST,
      `leash: JSON requests with Content-Encoding ${encoding} are refused, as a JSON-RPC call ` +
        'in them could not be judged; send them uncompressed',
    );
    return jsonAnswer(415, body);
  }
  if (rpc === 'unparsable') {
    return jsonAnswer(400, errorResponse(null, PARSE_ERROR, 'Parse error: the body is not JSON'));
  }

  const gate = session.gate(req.host, 'http');
  const out = gate.fromClient(text);
  if (out.toServer !== undefined) {
    return {
      kind: 'forward',
      body: Buffer.from(out.toServer),
      response: responseFilter(gate, out.toClient),
    };
  }
  // Everything was answered here, or was a denied notification, which gets no answer.
  if (out.toClient === undefined) {
    return { kind: 'answer', status: 202, headers: {}, body: Buffer.alloc(0) };
  }
  const reply = JSON.parse(out.toClient) as { error?: { code: number } };
  const malformed = reply.error?.code === PARSE_ERROR || reply.error?.code === INVALID_REQUEST;
  return jsonAnswer(malformed ? 400 : 200, reply);
}

function jsonAnswer(status: number, body: unknown): McpHttpOutcome {
  return {
    kind: 'answer',
    status,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** Headers only an MCP client sends: its session, its protocol version, or a JSON POST that
 *  accepts an event stream back. */
function declaresJson(h: IncomingHttpHeaders): boolean {
  const type =
    String(h['content-type'] ?? '')
      .toLowerCase()
      .split(';')[0]
      ?.trim() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

/** true when the JSON object, or any object of a JSON batch, has a `method` key. */
function namesMethod(text: string): boolean {
  const v: unknown = JSON.parse(text);
  const has = (o: unknown): boolean =>
    typeof o === 'object' && o !== null && !Array.isArray(o) && 'method' in o;
  return Array.isArray(v) ? v.some(has) : has(v);
}

const withoutBom = (text: string): string => (text.startsWith('\uFEFF') ? text.slice(1) : text);

function looksLikeMcp(h: IncomingHttpHeaders): boolean {
  if (h['mcp-session-id'] !== undefined || h['mcp-protocol-version'] !== undefined) return true;
  const type = String(h['content-type'] ?? '').toLowerCase();
  const accept = String(h.accept ?? '').toLowerCase();
  return type.startsWith('application/json') && accept.includes('text/event-stream');
}

/** true when the body is JSON-RPC (an object or batch carrying `jsonrpc`), 'unparsable' when it
 *  is not JSON at all, false for other JSON. */
function isJsonRpc(text: string): boolean | 'unparsable' {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'unparsable'; // the caller decides whether that matters (only for MCP requests)
  }
  const hasJsonrpc = (o: unknown): boolean =>
    typeof o === 'object' && o !== null && !Array.isArray(o) && 'jsonrpc' in o;
  return Array.isArray(v) ? v.some(hasJsonrpc) : hasJsonrpc(v);
}

function responseFilter(gate: McpGate, early: string | undefined): McpResponseFilter {
  return {
    start(status, headers) {
      const out = { ...headers };
      const type = String(headers['content-type'] ?? '').toLowerCase();
      const encoding = String(headers['content-encoding'] ?? 'identity').toLowerCase();
      if (status === 202 && early !== undefined) {
        // Only notifications went upstream; the answers decided here are the whole reply.
        delete out['content-length'];
        out['content-type'] = 'application/json';
        return { status: 200, headers: out, body: new JsonFilter(gate, early) };
      }
      if (encoding !== 'identity') return { status, headers: out, body: passThrough() };
      if (type.startsWith('text/event-stream')) {
        return { status, headers: out, body: new SseFilter(gate, early) };
      }
      if (type.startsWith('application/json')) {
        delete out['content-length'];
        return { status, headers: out, body: new JsonFilter(gate, early) };
      }
      return { status, headers: out, body: passThrough() };
    },
  };
}

function passThrough(): Transform {
  return new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
}

/** A JSON body: one message or batch, read whole, filtered, sent on. */
class JsonFilter extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;
  private passing = false;

  constructor(
    private readonly gate: McpGate,
    private readonly early: string | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.passing) return done(null, chunk);
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > MAX_JSON_RESPONSE) {
      this.passing = true;
      const held = Buffer.concat(this.chunks);
      this.chunks = [];
      return done(null, held);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.passing) return done();
    const text = Buffer.concat(this.chunks).toString('utf8');
    const filtered = text.trim() === '' ? (this.early ?? '') : this.gate.fromServer(text);
    done(null, Buffer.from(filtered));
  }
}

/**
 * An SSE body: each event's data is one JSON-RPC message or batch. Answers decided here for a
 * batch go out first, as an event of their own; then each event passes filtered.
 */
class SseFilter extends Transform {
  private pending = '';
  private event: string[] = [];

  constructor(
    private readonly gate: McpGate,
    early: string | undefined,
  ) {
    super();
    const held = gate.takeHeld();
    const first = held.length > 0 ? JSON.stringify(held) : early;
    if (first !== undefined) this.push(`data: ${first}\n\n`);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl).replace(/\r$/, '');
      this.pending = this.pending.slice(nl + 1);
      if (line === '') this.endEvent();
      else this.event.push(line);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pending !== '') this.event.push(this.pending);
    if (this.event.length > 0) this.endEvent();
    done();
  }

  private endEvent(): void {
    const data = this.event
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    const other = this.event.filter((l) => !l.startsWith('data:'));
    this.event = [];
    if (data.length === 0) {
      this.push(other.map((l) => `${l}\n`).join('') + '\n');
      return;
    }
    const filtered = this.gate.fromServer(data.join('\n'));
    const lines = [...other, ...filtered.split('\n').map((l) => `data: ${l}`)];
    this.push(lines.map((l) => `${l}\n`).join('') + '\n');
  }
}
