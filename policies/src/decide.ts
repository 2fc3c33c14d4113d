/**
 * The reference evaluator of the IR: what the kernel must decide, in plain TypeScript. The
 * helper uses it to name determining policies; tests hold it against Cedar itself.
 */
import type { ConnectMatcher, FileAccess, PathMatcher, PrincipalIR, Verdict } from './ir';
import { cidrContains, parseAddress, parseCidr, unmap, type Address } from './ip';
import { isAtOrBelow } from './paths';

function pathHolds(m: PathMatcher, path: string): boolean {
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

function verdict(rules: Array<{ id: string; effect: 'permit' | 'forbid' }>): Verdict {
  const ids = (effect: string): string[] =>
    [...new Set(rules.filter((r) => r.effect === effect).map((r) => r.id))].sort();
  const forbids = ids('forbid');
  if (forbids.length) return { decision: 'deny', policies: forbids };
  const permits = ids('permit');
  return permits.length
    ? { decision: 'allow', policies: permits }
    : { decision: 'deny', policies: [] };
}

/** `path` must be absolute and normalised (as the kernel reports it). */
export function decideFile(p: PrincipalIR, path: string, access: FileAccess): Verdict {
  return verdict(
    p.files.filter((r) => r.access.includes(access) && r.match.every((m) => pathHolds(m, path))),
  );
}

export function decideConnect(p: PrincipalIR, ip: string, port: number): Verdict {
  const parsed = parseAddress(ip);
  if (!parsed) throw new Error(`not an IP address: ${ip}`);
  const address = unmap(parsed);
  return verdict(p.connects.filter((r) => r.match.every((m) => connectHolds(m, address, port))));
}
