/**
 * Requests as people write them for `explain` and policy examples:
 * `{"principal":"shell","action":"ReadFile","resource":"/etc/hosts"}`. The resource is a path
 * for file actions and Exec (with `context.argv`), `ip:port` or `[v6]:port` for Connect, a host
 * or `host:port` for HttpRequest (port 443 by default; `context.method` and `context.path`,
 * GET and / by default), and `server/tool` for McpCall (`context.arguments`, JSON text, `{}`
 * by default).
 */
import { parseAddress } from '../ip';
import { isWellFormed } from '../limits';
import { isNormalPath } from '../paths';

export type Request =
  | { principal: string; action: 'ReadFile' | 'WriteFile'; path: string }
  | { principal: string; action: 'Exec'; path: string; argv: string[] }
  | { principal: string; action: 'Connect'; ip: string; port: number }
  | {
      principal: string;
      action: 'HttpRequest';
      host: string;
      port: number;
      method: string;
      path: string;
    }
  | { principal: string; action: 'McpCall'; server: string; tool: string; arguments: string };

export class RequestError extends Error {}

const FILE_ACTIONS = ['ReadFile', 'WriteFile', 'Exec'];

function endpoint(resource: string): { ip: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(resource) ?? /^([^:[\]]+):(\d+)$/.exec(resource);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !parseAddress(m[1] as string) || !(port >= 0 && port <= 65535)) {
    throw new RequestError(
      `resource "${resource}" is not an endpoint: write "10.0.0.1:443" or "[fd00::1]:443" ` +
        '(a port from 0 to 65535).',
    );
  }
  return { ip: m[1] as string, port };
}

function text(ctx: Record<string, unknown>, key: string, fallback: string): string {
  const value = ctx[key] ?? fallback;
  if (typeof value !== 'string' || !isWellFormed(value)) {
    throw new RequestError(`"context.${key}" must be a string.`);
  }
  return value;
}

function httpRequest(resource: string, ctx: Record<string, unknown>) {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:/\s[\]]+))(?::(\d+))?$/.exec(resource);
  const port = m?.[3] === undefined ? 443 : Number(m[3]);
  const host = m?.[1] ?? m?.[2] ?? '';
  if (!m || host !== host.toLowerCase() || host.endsWith('.') || !(port >= 0 && port <= 65535)) {
    throw new RequestError(
      `resource "${resource}" is not a host: write a lower-case name such as "api.github.com" ` +
        'or "api.github.com:8443", an IPv6 address as "[fd00::1]:443" (no scheme, path or ' +
        'trailing dot; port 443 when left out).',
    );
  }
  const method = text(ctx, 'method', 'GET');
  const path = text(ctx, 'path', '/');
  if (method !== method.toUpperCase()) {
    throw new RequestError(`"context.method" is upper-case: write "${method.toUpperCase()}".`);
  }
  return { host, port, method, path };
}

function mcpCall(resource: string, ctx: Record<string, unknown>) {
  const cut = resource.indexOf('/');
  if (cut <= 0 || cut === resource.length - 1) {
    throw new RequestError(
      `resource "${resource}" is not an MCP tool: write "server/tool", such as ` +
        '"github/create_issue".',
    );
  }
  const args = ctx.arguments === undefined ? '{}' : ctx.arguments;
  // Arguments are JSON text; an object is accepted and written as JSON.
  const text = typeof args === 'string' ? args : JSON.stringify(args);
  return { server: resource.slice(0, cut), tool: resource.slice(cut + 1), arguments: text };
}

/** Reads a request from parsed JSON; throws a RequestError that says what to write instead. */
export function parseRequest(value: unknown): Request {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RequestError('a request is an object: {"principal", "action", "resource"}.');
  }
  const { principal, action, resource, context } = value as Record<string, unknown>;
  if (typeof principal !== 'string' || principal === '') {
    throw new RequestError('"principal" must be an agent name such as "claude" or "shell".');
  }
  if (typeof action !== 'string' || typeof resource !== 'string') {
    throw new RequestError('"action" and "resource" must be strings.');
  }
  if (!isWellFormed(principal) || !isWellFormed(resource)) {
    throw new RequestError('the principal and the resource must be valid Unicode.');
  }
  if (action === 'Connect') return { principal, action, ...endpoint(resource) };
  const ctx = (context ?? {}) as Record<string, unknown>;
  if (typeof ctx !== 'object' || Array.isArray(ctx)) {
    throw new RequestError('"context" must be an object.');
  }
  if (action === 'HttpRequest') return { principal, action, ...httpRequest(resource, ctx) };
  if (action === 'McpCall') return { principal, action, ...mcpCall(resource, ctx) };
  if (!FILE_ACTIONS.includes(action)) {
    throw new RequestError(
      `unknown action "${action}": write ReadFile, WriteFile, Exec, Connect, HttpRequest or ` +
        'McpCall.',
    );
  }
  if (!isNormalPath(resource)) {
    throw new RequestError(
      `resource "${resource}" is not an absolute, normalised path (no ".", "..", "//" or ` +
        'trailing slash).',
    );
  }
  if (action === 'Exec') {
    const argv = (context as { argv?: unknown } | undefined)?.argv ?? [];
    if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) {
      throw new RequestError('"context.argv" must be an array of strings (argv[1..]).');
    }
    return { principal, action, path: resource, argv: argv as string[] };
  }
  return { principal, action: action as 'ReadFile' | 'WriteFile', path: resource };
}

/** The request as one line: `shell ReadFile /etc/hosts`. */
export function describeRequest(r: Request): string {
  return `${r.principal} ${r.action} ${resourceText(r)}`;
}

function resourceText(r: Request): string {
  switch (r.action) {
    case 'Connect':
      return r.ip.includes(':') ? `[${r.ip}]:${r.port}` : `${r.ip}:${r.port}`;
    case 'HttpRequest':
      return `${r.method} ${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port}${r.path}`;
    case 'McpCall':
      return `${r.server}/${r.tool}`;
    case 'Exec':
      return [r.path, ...r.argv].join(' ');
    default:
      return r.path;
  }
}
