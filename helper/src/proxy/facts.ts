/**
 * The facts an HTTP request is judged on: its TLS server name, Host header and target, the
 * target in the canonical spelling that is also forwarded (target.ts).
 */
import type * as http from 'node:http';
import type { HttpRequestFacts } from './http-rules';
import type { Connection } from './request';
import { canonicalTarget } from './target';

export function requestFacts(
  req: http.IncomingMessage,
  conn: Connection,
):
  | { facts: HttpRequestFacts; decodedPath?: string }
  | { problem: string; status: number; host?: string } {
  const hostHeader = req.headers.host;
  if (!hostHeader) return { problem: 'the request has no Host header', status: 400 };
  const authority = parseAuthority(hostHeader);
  if (!authority)
    return { problem: `Host header ${JSON.stringify(hostHeader)} is not valid`, status: 400 };
  const host = authority.host;
  let raw = req.url ?? '/';
  if (!raw.startsWith('/')) {
    let target: URL;
    try {
      target = new URL(raw);
    } catch (err) {
      const why = (err as Error).message;
      return { problem: `request target ${JSON.stringify(raw)}: ${why}`, status: 400, host };
    }
    if (normalHost(target.hostname) !== host) {
      return {
        problem: `request target ${target.host} and Host ${host} differ`,
        status: 403,
        host,
      };
    }
    // The path as sent, not as URL spelled it: URL folds `\` into `/` and resolves dots.
    const parts = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(raw);
    if (!parts || parts[1]?.includes('\\')) {
      const why = 'is not an absolute URL in plain form';
      return { problem: `request target ${JSON.stringify(raw)} ${why}`, status: 400, host };
    }
    raw = parts[2] || '/';
    if (raw.startsWith('?')) raw = `/${raw}`;
  }
  const canonical = canonicalTarget(raw);
  if ('problem' in canonical) return { problem: canonical.problem, status: 400, host };
  const { target: path, decodedSlashes: decodedPath } = canonical;
  if (conn.tls && conn.sni !== host) {
    return {
      problem: `TLS server name ${conn.sni ?? '(none)'} and Host header ${host} differ`,
      status: 403,
      host,
    };
  }
  if (authority.port !== undefined && authority.port !== conn.port) {
    return {
      problem: `Host header port ${authority.port} is not the port connected to (${conn.port})`,
      status: 403,
      host,
    };
  }
  const method = (req.method ?? '').toUpperCase();
  return { facts: { host, port: conn.port, method, path }, decodedPath };
}

export function parseAuthority(value: string): { host: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: normalHost((m[1] as string).replace(/^\[|\]$/g, '')), port };
}

export function normalHost(h: string): string {
  return h.toLowerCase().replace(/\.$/, '');
}
