/**
 * The reference evaluator of the IR: what the kernel must decide, in plain TypeScript. The
 * helper uses it to name determining policies; tests hold it against Cedar itself.
 */
import type {
  ConnectMatcher,
  ExecMatcher,
  FileAccess,
  HttpMatcher,
  McpMatcher,
  PathMatcher,
  PrincipalIR,
  StringMatcher,
  Verdict,
} from './ir';
import { cidrContains, parseAddress, parseCidr, unmap, type Address, type Cidr } from './ip';
import { isAtOrBelow } from './paths';

export function pathHolds(m: PathMatcher, path: string): boolean {
  const hit =
    m.kind === 'exact'
      ? path === m.value
      : m.kind === 'prefix'
        ? isAtOrBelow(path, m.value)
        : path.endsWith(m.value);
  return hit !== Boolean(m.negate);
}

/** Each CIDR matcher of a compiled rule set, parsed once: every connect is judged again. */
const parsedCidrs = new WeakMap<ConnectMatcher, Cidr>();

function connectHolds(m: ConnectMatcher, ip: Address, port: number): boolean {
  let hit: boolean;
  if (m.kind === 'port') hit = port >= m.lo && port <= m.hi;
  else {
    let cidr = parsedCidrs.get(m);
    if (cidr === undefined) {
      const parsed = parseCidr(m.cidr);
      if (!parsed) throw new Error(`invalid CIDR in IR rule: ${m.cidr}`);
      parsedCidrs.set(m, parsed);
      cidr = parsed;
    }
    hit = cidrContains(cidr, ip);
  }
  return hit !== Boolean(m.negate);
}

/** Folds the matching rules into a verdict; plain loops, as this runs on every decision. */
function verdict(matching: Array<{ id: string; effect: 'permit' | 'forbid' }>): Verdict {
  const forbids = new Set<string>();
  const permits = new Set<string>();
  for (const rule of matching) (rule.effect === 'forbid' ? forbids : permits).add(rule.id);
  if (forbids.size) return { decision: 'deny', policies: [...forbids].sort() };
  if (permits.size) return { decision: 'allow', policies: [...permits].sort() };
  return { decision: 'deny', policies: [] };
}

/** `path` must be absolute and normalised (as the kernel reports it). */
export function decideFile(p: PrincipalIR, path: string, access: FileAccess): Verdict {
  const matching = [];
  for (const rule of p.files) {
    if (!rule.access.includes(access)) continue;
    let holds = true;
    for (const m of rule.match) holds &&= pathHolds(m, path);
    if (holds) matching.push(rule);
  }
  return verdict(matching);
}

export function decideConnect(p: PrincipalIR, ip: string, port: number): Verdict {
  const parsed = parseAddress(ip);
  if (!parsed) throw new Error(`not an IP address: ${ip}`);
  const address = unmap(parsed);
  const matching = [];
  for (const rule of p.connects) {
    let holds = true;
    for (const m of rule.match) holds &&= connectHolds(m, address, port);
    if (holds) matching.push(rule);
  }
  return verdict(matching);
}

/** Cedar's `like`: the parts in order, the first at the start and the last at the end. */
export function likeHolds(parts: string[], text: string): boolean {
  if (parts.length === 1) return text === parts[0];
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (text.length < first.length + last.length) return false;
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

export function stringHolds(m: StringMatcher, text: string): boolean {
  const hit = m.kind === 'equals' ? text === m.value : likeHolds(m.parts, text);
  return hit !== Boolean(m.negate);
}

function execHolds(m: ExecMatcher, program: string, argv: string[], args: string): boolean {
  if (m.on === 'program') return pathHolds(m.path, program);
  if (m.on === 'args') return stringHolds(m.match, args);
  const hit =
    m.op === 'containsAny'
      ? m.values.some((v) => argv.includes(v))
      : m.values.every((v) => argv.includes(v));
  return hit !== Boolean(m.negate);
}

/**
 * `program` is the executed file's canonical path; `argv` are the arguments after argv[0]
 * (Cedar's `context.argv` as a set, and `context.args` joined by single spaces).
 */
export function decideExec(p: PrincipalIR, program: string, argv: string[]): Verdict {
  const args = argv.join(' ');
  const matching = [];
  for (const rule of p.exec) {
    let holds = true;
    for (const m of rule.match) holds &&= execHolds(m, program, argv, args);
    if (holds) matching.push(rule);
  }
  return verdict(matching);
}

export interface HttpRequestFacts {
  /** Lower-case host name without port or trailing dot. */
  host: string;
  port: number;
  /** Upper-case method. */
  method: string;
  /** The request target's path including the query, as sent. */
  path: string;
}

export interface HeaderInjection {
  name: string;
  value: string;
  /** The `@id` of the permit that asked for it. */
  policy: string;
}

function httpHolds(m: HttpMatcher, req: HttpRequestFacts): boolean {
  if (m.on === 'port') return (req.port >= m.lo && req.port <= m.hi) !== Boolean(m.negate);
  return stringHolds(m.match, req[m.on]);
}

/**
 * The verdict on an HTTP request, and on an allow the headers that the matching permits ask the
 * proxy to inject (in policy id order; empty on a deny).
 */
export function decideHttp(
  p: PrincipalIR,
  req: HttpRequestFacts,
): Verdict & { inject: HeaderInjection[] } {
  if (req.host !== req.host.toLowerCase() || req.host.endsWith('.') || req.host === '') {
    throw new Error(`host must be a lower-case name without a trailing dot: ${req.host}`);
  }
  const matching = [];
  for (const rule of p.http) {
    let holds = true;
    for (const m of rule.match) holds &&= httpHolds(m, req);
    if (holds) matching.push(rule);
  }
  const v = verdict(matching);
  const inject: HeaderInjection[] = [];
  if (v.decision === 'allow') {
    for (const rule of matching) {
      if (rule.effect === 'permit' && rule.injectHeader) {
        const { name, value } = rule.injectHeader;
        if (!inject.some((h) => h.policy === rule.id))
          inject.push({ name, value, policy: rule.id });
      }
    }
    inject.sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0));
  }
  return { ...v, inject };
}

export interface McpCallFacts {
  server: string;
  tool: string;
  /** The call's arguments as JSON text. */
  arguments: string;
}

function mcpHolds(m: McpMatcher, call: McpCallFacts): boolean {
  return stringHolds(m.match, call[m.on]);
}

export function decideMcp(p: PrincipalIR, call: McpCallFacts): Verdict {
  const matching = [];
  for (const rule of p.mcp) {
    let holds = true;
    for (const m of rule.match) holds &&= mcpHolds(m, call);
    if (holds) matching.push(rule);
  }
  return verdict(matching);
}
