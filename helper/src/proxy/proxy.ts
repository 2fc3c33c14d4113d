/**
 * leashd's egress proxy: one listener per redirected port on the sandbox bridge's gateway
 * address. Each connection is tied to its session by its source address, sniffed for TLS
 * (terminated with a leaf certificate for the client's server name) and parsed as HTTP/1.1;
 * every request then goes through request.ts.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { NewEvent } from '../audit/event';
import type { Logger } from '../log';
import type { SessionMcp } from '../mcp/session-mcp';
import type { SecretStore } from '../secrets/store';
import { nowRfc3339Nano } from '../time';
import type { CertificateAuthority } from './ca';
import type { HttpRequestFacts, HttpVerdict } from './http-rules';
import { handleRequest, handleUpgrade, type Connection } from './request';
import type { UpstreamResolver } from './upstream';

/** What the proxy needs of a session. */
export interface EgressClient {
  name: string;
  principal: string;
  /** The logged decision (`would-deny` in shadow and record mode) and the policy's verdict. */
  judge(r: HttpRequestFacts): { decision: 'allow' | 'deny' | 'would-deny'; verdict: HttpVerdict };
  record(e: Omit<NewEvent, 'session' | 'principal'>): void;
  /** The session's MCP governance, for JSON-RPC carried over HTTP. */
  mcp(): SessionMcp;
}

/** Request headers must be complete this long after a connection or a previous response. */
const HEADERS_DEADLINE_MS = 15_000;
/** A connection that moves no byte this long is closed. */
const IDLE_MS = 120_000;
const MAX_HEADER_BYTES = 16 * 1024;

export class EgressProxy {
  private readonly clients = new Map<string, EgressClient>();
  /** Original destination port -> the listener standing in for it. */
  private readonly listeners = new Map<number, Promise<net.Server>>();
  private readonly connections = new WeakMap<net.Socket, Connection>();
  private readonly http: http.Server;

  constructor(
    private readonly o: {
      bindAddress: string;
      ca: CertificateAuthority;
      secrets: SecretStore;
      upstream: UpstreamResolver;
      log: Logger;
    },
  ) {
    this.http = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, insecureHTTPParser: false });
    this.http.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const conn = this.connectionOf(req.socket);
      if (!conn) return void req.socket.destroy();
      clearTimeout(conn.headersTimer);
      conn.served = true;
      res.on('finish', () => this.armHeadersDeadline(req.socket, conn, true));
      handleRequest(req, res, conn, this.deps()).catch((err: Error) => this.failed(conn, req, err));
    });
    this.http.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const conn = this.connectionOf(socket);
      if (!conn) return void socket.destroy();
      clearTimeout(conn.headersTimer);
      conn.served = true;
      handleUpgrade(req, socket, head, conn, this.deps()).catch((err: Error) =>
        this.failed(conn, req, err),
      );
    });
    this.http.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
      const conn = this.connectionOf(socket);
      if (conn) this.refuse(conn, `CONNECT ${req.url ?? ''} is not served: traffic is redirected`);
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n');
    });
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      const conn = this.connectionOf(socket);
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      if (conn) this.refuse(conn, `malformed HTTP (${err.code ?? 'error'}: ${err.message})`);
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
      } else socket.destroy();
    });
  }

  /** Ties connections from `address` (the sandbox's bridge address) to `client`. */
  attach(address: string, client: EgressClient): void {
    this.clients.set(address, client);
  }

  detach(address: string): void {
    this.clients.delete(address);
  }

  /** The local port standing in for original destination `port`, listening once ready. */
  async portFor(port: number): Promise<number> {
    let listener = this.listeners.get(port);
    if (!listener) {
      listener = this.listen(port);
      this.listeners.set(port, listener);
      listener.catch(() => this.listeners.delete(port));
    }
    return ((await listener).address() as net.AddressInfo).port;
  }

  close(): void {
    for (const l of this.listeners.values()) void l.then((s) => s.close());
    this.listeners.clear();
  }

  private listen(port: number): Promise<net.Server> {
    const server = net.createServer((socket) => this.onConnection(socket, port));
    return new Promise((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new Error(
            `proxy for port ${port} cannot listen on ${this.o.bindAddress}: ${err.message}`,
          ),
        ),
      );
      server.listen(0, this.o.bindAddress, () => resolve(server));
    });
  }

  private deps(): Parameters<typeof handleRequest>[3] {
    return { secrets: this.o.secrets, upstream: this.o.upstream, log: this.o.log };
  }

  private connectionOf(socket: net.Socket): Connection | undefined {
    return this.connections.get(socket);
  }

  private onConnection(socket: net.Socket, port: number): void {
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const client = this.clients.get(address);
    socket.on('error', (err) => this.o.log.debug('proxy connection error', { error: err.message }));
    if (!client) {
      this.o.log.warn('proxy connection from an address of no session', { address, port });
      socket.destroy();
      return;
    }
    const conn: Connection = { client, raw: socket, port, tls: false };
    socket.setTimeout(IDLE_MS, () => {
      this.refuse(conn, `idle for ${IDLE_MS / 1000} s`);
      socket.destroy();
    });
    this.armHeadersDeadline(socket, conn);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first[0] === 0x16) this.startTls(socket, conn);
      else this.startHttp(socket, conn);
    });
  }

  private startHttp(socket: net.Socket, conn: Connection): void {
    this.connections.set(socket, conn);
    this.http.emit('connection', socket);
    socket.resume();
  }

  private startTls(raw: net.Socket, conn: Connection): void {
    conn.tls = true;
    const secure = new tls.TLSSocket(raw, {
      isServer: true,
      // HTTP/2 is not offered: clients fall back to HTTP/1.1 through ALPN.
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, done) => {
        const host = servername.toLowerCase().replace(/\.$/, '');
        conn.sni = host;
        this.o.ca.contextFor(host).then(
          (ctx) => done(null, ctx),
          (err: Error) => done(err),
        );
      },
    });
    secure.on('error', (err) => {
      const reason = conn.sni
        ? `TLS handshake for ${conn.sni} failed: ${err.message}`
        : `TLS without a server name (SNI) is refused: ${err.message}`;
      if (!conn.served) this.refuse(conn, reason);
      raw.destroy();
    });
    // Handed over before the handshake ends: the parser reads the TLS stream from its start.
    this.connections.set(secure, conn);
    this.armHeadersDeadline(secure, conn);
    this.http.emit('connection', secure);
  }

  /** Closes a connection whose request headers are not complete in time (slowloris); after a
   *  served request this is the keep-alive timeout, and closes quietly. */
  private armHeadersDeadline(socket: net.Socket, conn: Connection, kept = false): void {
    clearTimeout(conn.headersTimer);
    const readBefore = socket.bytesRead;
    conn.headersTimer = setTimeout(() => {
      if (!kept || socket.bytesRead > readBefore) {
        this.refuse(conn, `request headers not complete within ${HEADERS_DEADLINE_MS / 1000} s`);
      }
      socket.destroy();
      conn.raw.destroy();
    }, HEADERS_DEADLINE_MS);
    conn.headersTimer.unref();
    socket.once('close', () => clearTimeout(conn.headersTimer));
  }

  /** A bug met while serving one request: that connection ends, the proxy serves on. */
  private failed(conn: Connection, req: http.IncomingMessage, err: Error): void {
    this.o.log.error('proxy failed on a request', {
      session: conn.client.name,
      target: req.url,
      error: err.stack ?? err.message,
    });
    conn.raw.destroy();
  }

  /** A connection refused before any request was judged: logged with its reason. */
  private refuse(conn: Connection, reason: string): void {
    conn.served = true;
    this.o.log.warn('proxy refused a connection', { session: conn.client.name, reason });
    conn.client.record({
      time: nowRfc3339Nano(),
      kind: 'http',
      action: 'HttpRequest',
      resource: conn.sni ?? '',
      decision: 'deny',
      policies: [],
      count: 1,
      pid: 0,
      comm: '',
      details: { port: conn.port, reason, ...(conn.sni ? { host: conn.sni } : {}) },
    });
  }
}
