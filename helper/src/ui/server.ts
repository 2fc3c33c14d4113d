/**
 * The Control UI's HTTP server inside leashd, on loopback only: the page (built from
 * helper/ui/ into helper/ui/dist/), its JSON API and the live event stream. Every response
 * carries a strict content security policy; see access.ts for who may ask what.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { AuditStore } from '../audit/store';
import type { Logger } from '../log';
import type { SessionManager } from '../session/manager';
import { checkChange, checkHost, checkToken, type Refusal } from './access';
import { ApiError, handleApi } from './api';
import { streamEvents } from './stream';

export const STATIC_DIR = path.join(__dirname, '..', '..', 'ui', 'dist');
const MAX_BODY = 1024 * 1024;

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export interface ControlUiDeps {
  sessions: SessionManager;
  store: AuditStore;
  log: Logger;
  token: string;
  staticDir?: string;
}

export class ControlUi {
  private readonly server: http.Server;
  private port = 0;

  constructor(private readonly deps: ControlUiDeps) {
    this.server = http.createServer((req, res) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      this.route(req, res).catch((err: Error) => {
        const status = err instanceof ApiError ? err.status : 500;
        if (status === 500) deps.log.error('Control UI request failed', { error: err.stack });
        refuse(res, { status, message: err.message });
      });
    });
  }

  /** Binds 127.0.0.1:port (0 picks a free port); resolves with the port bound. */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const hostRefusal = checkHost(req, this.port);
    if (hostRefusal) return refuse(res, hostRefusal);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);

    if (!url.pathname.startsWith('/api/')) return this.serveStatic(req, res, url.pathname);

    const tokenRefusal = checkToken(req, this.deps.token);
    if (tokenRefusal) return refuse(res, tokenRefusal);
    if (req.method !== 'GET') {
      const changeRefusal = checkChange(req, this.port);
      if (changeRefusal) return refuse(res, changeRefusal);
    }

    if (url.pathname === '/api/events/stream' && req.method === 'GET') {
      try {
        streamEvents(this.deps.store, req, res, url.searchParams);
      } catch (err) {
        if (err instanceof RangeError) throw new ApiError(400, err.message);
        throw err;
      }
      return;
    }
    const parts = apiPath(url.pathname);
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const reply = handleApi(this.deps.sessions, this.deps.log, req.method ?? '', parts, body);
    sendJson(res, reply.status, reply.body);
  }

  private serveStatic(req: http.IncomingMessage, res: http.ServerResponse, p: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(res, { status: 405, message: 'only GET here' });
    }
    const entry = STATIC_FILES[p];
    if (!entry) return refuse(res, { status: 404, message: `no page ${p}` });
    const file = path.join(this.deps.staticDir ?? STATIC_DIR, entry.file);
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch (err) {
      throw new Error(`the Control UI is not built (${(err as Error).message}); run npm run build`);
    }
    res.writeHead(200, { 'Content-Type': entry.type, 'Content-Length': content.length });
    res.end(req.method === 'HEAD' ? undefined : content);
  }
}

function apiPath(pathname: string): string[] {
  try {
    return pathname.slice('/api/'.length).split('/').map(decodeURIComponent);
  } catch (err) {
    throw new ApiError(400, `${pathname} is not a valid path: ${(err as Error).message}`);
  }
}

function refuse(res: http.ServerResponse, r: Refusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (r.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="leash"');
  sendJson(res, r.status, { error: r.message });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, `the body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new ApiError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}
