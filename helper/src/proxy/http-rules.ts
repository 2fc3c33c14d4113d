/**
 * What the proxy asks of a principal's HttpRequest rules beyond policies' `decideHttp`:
 * whether a host name could be allowed at all (for the resolver), and the ports policies
 * name (to redirect them).
 */
import {
  decideHttp,
  stringHolds,
  type HeaderInjection,
  type HttpRequestFacts,
  type PrincipalIR,
  type Verdict,
} from '@leash/policies';

export { decideHttp, type HttpRequestFacts };
export type HttpVerdict = Verdict & { inject: HeaderInjection[] };

/** Ports redirected for every session, whatever its policy says. */
export const ALWAYS_REDIRECTED = [80, 443];
/** A permit's port range wider than this is not redirected port by port (docs/proxy.md). */
const MAX_RANGE = 16;

/** Whether some permit could allow a request to `host` (on some port, method and path). */
export function hostCouldBeAllowed(p: PrincipalIR, host: string): boolean {
  return p.http.some(
    (rule) =>
      rule.effect === 'permit' &&
      rule.match.every((m) => m.on !== 'host' || stringHolds(m.match, host)),
  );
}

/** 80, 443 and every port (or small range) a permit names, sorted. */
export function redirectedPorts(p: PrincipalIR): number[] {
  const ports = new Set(ALWAYS_REDIRECTED);
  for (const rule of p.http) {
    if (rule.effect !== 'permit') continue;
    for (const m of rule.match) {
      if (m.on !== 'port' || m.negate || m.hi - m.lo >= MAX_RANGE) continue;
      for (let port = m.lo; port <= m.hi; port++) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
