/**
 * One HTTP request through the proxy: the facts it is judged on (the TLS server name must
 * agree with Host), the verdict and its audit event, injected headers, then the exchange with
 * an upstream the proxy resolved itself (TLS verified), or a 403 naming the rule to add.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from '../log';
import { governMcpHttp, type McpHttpOutcome } from '../mcp/http';
import type { SecretStore } from '../secrets/store';
import { nowRfc3339Nano } from '../time';
import { requestFacts } from './facts';
import {
  forwardable,
  headerNames,
  placeholders,
  upstreamHeaders,
  withoutHopByHop,
} from './headers';
import type { HttpRequestFacts, HttpVerdict } from './http-rules';
import type { EgressClient } from './proxy';
import type { UpstreamResolver } from './upstream';

export interface Connection {
  client: EgressClient;
  /** The TCP connection (under the TLS socket, for HTTPS): closing it closes everything. */
  raw: net.Socket;
  /** The port the sandbox connected to. */
  port: number;
  tls: boolean;
  /** The TLS server name the client sent (lower case, no trailing dot). */
  sni?: string;
  /** Whether a request was judged or the connection refused (for logging what comes after). */
  served?: boolean;
  headersTimer?: NodeJS.Timeout;
}

export interface Deps {
  secrets: SecretStore;
  upstream: UpstreamResolver;
  log: Logger;
}

/** A request body read whole (for MCP governance) may be at most this large. */
const MAX_BUFFERED_BODY = 16 * 1024 * 1024;

/** Upstreams (host, port, addresses) whose keep-alive connections are pooled at once. */
const MAX_AGENTS = 256;
const agents = new Map<string, http.Agent>();

export async function handleRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  conn: Connection,
  deps: Deps,
): Promise<void> {
  const judged = judge(req, conn, deps);
  if (!judged.forward) {
    res.writeHead(judged.status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(judged.body);
    req.resume();
    return;
  }
  const { facts, headers } = judged;
  let mcp: McpHttpOutcome = { kind: 'pass' };
  let body: Buffer | undefined;
  if (hasBody(req)) {
    // Read whole so that JSON-RPC in it (MCP over HTTP) is judged before anything is sent.
    body = await readBody(req);
    if (!body) {
      failRequest(res, conn, facts, 413, `request body over ${MAX_BUFFERED_BODY} bytes`, deps);
      return;
    }
    mcp = governMcpHttp(
      { host: facts.host, method: facts.method, headers: req.headers, body },
      conn.client.mcp(),
    );
    if (mcp.kind === 'answer') {
      res.writeHead(mcp.status, mcp.headers);
      res.end(mcp.body);
      return;
    }
    if (mcp.kind === 'forward') {
      body = mcp.body;
      delete headers['accept-encoding'];
    }
    headers['content-length'] = String(body.length);
  }
  try {
    const addresses = await deps.upstream.resolve(facts.host);
    const upstream = (conn.tls ? https : http).request({
      host: facts.host,
      port: facts.port,
      method: facts.method,
      path: facts.path,
      headers,
      lookup: pinnedLookup(addresses),
      agent: agentFor(conn.tls, facts, addresses, deps),
      servername: conn.tls ? facts.host : undefined,
    });
    upstream.on('response', (up) => {
      if (mcp.kind === 'forward') {
        const filtered = mcp.response.start(up.statusCode ?? 502, up.headers);
        res.writeHead(filtered.status, withoutHopByHop(filtered.headers));
        up.pipe(filtered.body).pipe(res);
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.statusMessage, forwardable(up.rawHeaders));
      up.pipe(res);
    });
    upstream.on('error', (err) => failUpstream(res, facts, err, conn, deps));
    if (body) upstream.end(body);
    else req.pipe(upstream);
  } catch (err) {
    failUpstream(res, facts, err as Error, conn, deps);
  }
}

/** An upgrade (WebSocket): judged like any request, then bytes flow both ways untouched. */
export async function handleUpgrade(
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  conn: Connection,
  deps: Deps,
): Promise<void> {
  const judged: Judged = hasBody(req)
    ? {
        forward: false,
        status: 400,
        body: 'leash: an upgrade request carries no body; send it without one\n',
      }
    : judge(req, conn, deps);
  if (!judged.forward) {
    const reason = http.STATUS_CODES[judged.status] ?? 'Forbidden';
    socket.end(
      `HTTP/1.1 ${judged.status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(judged.body)}\r\nconnection: close\r\n\r\n${judged.body}`,
    );
    return;
  }
  const { facts, headers } = judged;
  try {
    const [address] = await deps.upstream.resolve(facts.host);
    const options = { host: address as string, port: facts.port };
    const up = conn.tls
      ? tls.connect({
          ...options,
          servername: facts.host,
          secureContext: deps.upstream.secureContext,
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect(options);
    up.once(conn.tls ? 'secureConnect' : 'connect', () => {
      const lines = [`${facts.method} ${facts.path} HTTP/1.1`];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      lines.push('connection: upgrade', `upgrade: ${req.headers.upgrade ?? ''}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      tunnelAfterSwitch(up, socket, head);
    });
    up.on('error', (err) => {
      deps.log.warn('upstream of an upgrade failed', { host: facts.host, error: err.message });
      socket.destroy();
    });
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
  } catch (err) {
    deps.log.warn('upstream of an upgrade failed', {
      host: facts.host,
      error: (err as Error).message,
    });
    socket.destroy();
  }
}

/** Whether a request has a body to read (a length above zero, or a chunked one). */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Becomes a raw tunnel only once the upstream answers 101 Switching Protocols. Until then the
 * client's bytes stay unsent: anything it wrote after its upgrade request (`head`, and what
 * follows) would otherwise reach the upstream as further HTTP requests that were never judged.
 * Any other answer is passed back and the connection closed.
 */
function tunnelAfterSwitch(up: net.Socket, socket: net.Socket, head: Buffer): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const end = seen.indexOf('\r\n\r\n');
    if (end < 0) {
      if (seen.length > MAX_UPGRADE_HEAD) {
        up.destroy();
        socket.destroy();
      }
      return;
    }
    up.off('data', onData);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(seen.toString('latin1', 0, Math.min(end, 64)));
    socket.write(seen);
    if (status?.[1] !== '101') {
      socket.end();
      up.destroy();
      return;
    }
    if (head.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  };
  up.on('data', onData);
}

/** The largest upstream answer head to an upgrade that is waited for. */
const MAX_UPGRADE_HEAD = 64 * 1024;

type Judged =
  | { forward: false; status: number; body: string }
  | { forward: true; facts: HttpRequestFacts; headers: Record<string, string | string[]> };

/** The facts, the verdict, the audit event and the headers to send upstream. */
function judge(req: http.IncomingMessage, conn: Connection, deps: Deps): Judged {
  const parsed = requestFacts(req, conn);
  const names = headerNames(req.rawHeaders);
  if ('problem' in parsed) {
    record(conn, parsed.host ?? conn.sni ?? '', 'deny', [], {
      port: conn.port,
      method: req.method,
      path: req.url,
      headers: names,
      reason: parsed.problem,
    });
    deps.log.warn('proxy denied a request', { session: conn.client.name, reason: parsed.problem });
    return { forward: false, status: parsed.status, body: `leash: ${parsed.problem}\n` };
  }
  const facts = parsed.facts;
  const { decision, verdict } = judgeEachReading(conn, facts, parsed.decodedPath);
  const details: Record<string, unknown> = { ...facts, headers: names };
  if (parsed.decodedPath !== undefined) details.decodedPath = parsed.decodedPath;

  let headers: Record<string, string | string[]> = {};
  let problem: string | undefined;
  if (decision !== 'deny') {
    try {
      headers = upstreamHeaders(req.rawHeaders, verdict, deps.secrets);
    } catch (err) {
      problem = (err as Error).message;
    }
    if (verdict.inject.length) details.injected = verdict.inject.map((i) => i.name.toLowerCase());
    const leaked = placeholders(headers);
    if (leaked.length) {
      details.placeholders = leaked;
      deps.log.warn('a secret placeholder went to a host with no injection for it', {
        session: conn.client.name,
        host: facts.host,
        headers: leaked,
      });
    }
  }
  if (problem) details.reason = problem;
  record(conn, facts.host, problem ? 'deny' : decision, verdict.policies, details);
  if (problem) return { forward: false, status: 503, body: `leash: ${problem}\n` };
  if (decision === 'deny')
    return { forward: false, status: 403, body: denial(conn, facts, verdict) };
  return { forward: true, facts, headers };
}

/**
 * The verdict on the path as forwarded and, when it holds an encoded `/`, on the path a server
 * that decodes it would see: the stricter one wins, so a forbid on `/admin/*` also stops
 * `/admin%2Fusers`, and a permit must allow both readings.
 */
function judgeEachReading(
  conn: Connection,
  facts: HttpRequestFacts,
  decodedPath: string | undefined,
): ReturnType<Connection['client']['judge']> {
  const asSent = conn.client.judge(facts);
  if (decodedPath === undefined || decodedPath === facts.path) return asSent;
  const decoded = conn.client.judge({ ...facts, path: decodedPath });
  const strictness = { allow: 0, 'would-deny': 1, deny: 2 };
  return strictness[decoded.decision] > strictness[asSent.decision] ? decoded : asSent;
}

/** The 403 body: who denied, and the Cedar permit that would allow it. */
function denial(conn: Connection, f: HttpRequestFacts, v: HttpVerdict): string {
  const what = `${f.method} ${conn.tls ? 'https' : 'http'}://${f.host}:${f.port}${f.path}`;
  const by = v.policies.length
    ? `denied by policy ${v.policies.join(', ')} (a forbid wins over any permit)`
    : 'denied: no policy permits it (default deny)';
  const rule =
    `@id("allow-${f.host}")\n` +
    `permit (\n  principal == Leash::Agent::${JSON.stringify(conn.client.principal)},\n` +
    `  action == Leash::Action::"HttpRequest",\n  resource == Leash::Host::${JSON.stringify(f.host)}\n);`;
  const advice = v.policies.length
    ? `To allow it, remove or narrow ${v.policies.join(', ')}.`
    : `To allow it, add to the session's policy:\n\n${rule}`;
  return `leash: ${what} ${by}.\n${advice}\n`;
}

/** The whole body, or undefined when it is larger than MAX_BUFFERED_BODY. */
async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BUFFERED_BODY) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A refusal after the verdict (the request was allowed but cannot be carried). */
function failRequest(
  res: http.ServerResponse,
  conn: Connection,
  f: HttpRequestFacts,
  status: number,
  reason: string,
  deps: Deps,
): void {
  deps.log.warn('proxy refused a request', { session: conn.client.name, host: f.host, reason });
  record(conn, f.host, 'deny', [], { ...f, reason });
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(`leash: ${reason}\n`);
}

function failUpstream(
  res: http.ServerResponse,
  f: HttpRequestFacts,
  err: Error,
  conn: Connection,
  deps: Deps,
): void {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const cert = /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(code);
  const message = cert
    ? `the certificate of ${f.host}:${f.port} failed verification (${code}: ${err.message})`
    : `could not reach ${f.host}:${f.port} (${code || 'error'}: ${err.message})`;
  deps.log.warn('proxy upstream failed', {
    session: conn.client.name,
    host: f.host,
    error: message,
  });
  if (res.headersSent) return void res.destroy();
  res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(`leash: ${message}\n`);
}

function record(
  conn: Connection,
  host: string,
  decision: 'allow' | 'deny' | 'would-deny',
  policies: string[],
  details: Record<string, unknown>,
): void {
  conn.client.record({
    time: nowRfc3339Nano(),
    kind: 'http',
    action: 'HttpRequest',
    resource: host,
    decision,
    policies,
    count: 1,
    pid: 0,
    comm: '',
    details,
  });
}

/** A lookup that answers only the addresses the proxy resolved for this host. */
function pinnedLookup(addresses: string[]): net.LookupFunction {
  return (_host, options, callback) => {
    const all = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
    if ((options as { all?: boolean }).all) {
      (callback as (e: null, a: typeof all) => void)(null, all);
    } else callback(null, all[0]?.address ?? '', all[0]?.family ?? 4);
  };
}

/** Keep-alive agents per upstream (host, port, addresses). */
function agentFor(
  secure: boolean,
  f: HttpRequestFacts,
  addresses: string[],
  deps: Deps,
): http.Agent {
  const key = `${secure ? 's' : 'p'}|${f.host}|${f.port}|${addresses.join(',')}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = secure
      ? new https.Agent({
          keepAlive: true,
          secureContext: deps.upstream.secureContext,
          ALPNProtocols: ['http/1.1'],
        })
      : new http.Agent({ keepAlive: true });
    // Bounded: the least recently created upstream's idle connections go first.
    if (agents.size >= MAX_AGENTS) {
      const [oldest, old] = agents.entries().next().value as [string, http.Agent];
      old.destroy();
      agents.delete(oldest);
    }
    agents.set(key, agent);
  }
  return agent;
}
