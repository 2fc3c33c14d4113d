/**
 * The reference evaluator of the IR: what the kernel must decide, in plain TypeScript. The
 * helper uses it to name determining policies; tests hold it against Cedar itself.
 */
import type { ConnectMatcher, FileAccess, PathMatcher, PrincipalIR, Verdict } from './ir';
import { cidrContains, parseAddress, parseCidr, unmap, type Address } from './ip';
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

function connectHolds(m: ConnectMatcher, ip: Address, port: number): boolean {
  let hit: boolean;
  if (m.kind === 'port') hit = port >= m.lo && port <= m.hi;
  else {
    const cidr = parseCidr(m.cidr);
    if (!cidr) throw new Error(`invalid CIDR in IR rule: ${m.cidr}`);
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
