/**
 * Requests as people write them for `explain` and policy examples:
 * `{"principal":"shell","action":"ReadFile","resource":"/etc/hosts"}`. The resource is a path
 * for file actions and Exec, and `ip:port` or `[v6]:port` for Connect.
 */
import { parseAddress } from '../ip';
import { isWellFormed } from '../limits';
import { isNormalPath } from '../paths';

export type Request =
  | { principal: string; action: 'ReadFile' | 'WriteFile'; path: string }
  | { principal: string; action: 'Exec'; path: string; argv: string[] }
  | { principal: string; action: 'Connect'; ip: string; port: number };

export class RequestError extends Error {}

const FILE_ACTIONS = ['ReadFile', 'WriteFile', 'Exec'];
const NOT_ENFORCED = ['HttpRequest', 'McpCall'];

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
  if (NOT_ENFORCED.includes(action)) {
    throw new RequestError(
      `${action} requests are not enforced yet, so there is nothing to decide.`,
    );
  }
  if (action === 'Connect') return { principal, action, ...endpoint(resource) };
  if (!FILE_ACTIONS.includes(action)) {
    throw new RequestError(
      `unknown action "${action}": write ReadFile, WriteFile, Exec or Connect.`,
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
  const resource =
    r.action === 'Connect'
      ? r.ip.includes(':')
        ? `[${r.ip}]:${r.port}`
        : `${r.ip}:${r.port}`
      : r.path;
  return `${r.principal} ${r.action} ${resource}`;
}
