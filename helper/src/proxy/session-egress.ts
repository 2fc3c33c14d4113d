/**
 * One session's egress: its proxy and resolver client (decisions, mode, audit), the nftables
 * redirection in its network namespace, and the built-in Connect permits that let the
 * redirected ports reach the proxy (the cgroup connect program judges the original
 * destination, before netfilter rewrites it).
 */
import type { ConnectRule, PrincipalIR } from '@leash/policies';
import type { NewEvent } from '../audit/event';
import type { Logger } from '../log';
import type { SessionMcp } from '../mcp/session-mcp';
import type { Mode } from '../session/modes';
import { nowRfc3339Nano } from '../time';
import { sandboxEgress, trustEnv, SANDBOX_BUNDLE, SANDBOX_CA, type Egress } from './egress';
import { decideHttp, hostCouldBeAllowed, redirectedPorts } from './http-rules';
import { applyRedirection } from './netns';
import type { EgressClient } from './proxy';
import type { ResolverClient } from './resolver';

export const EGRESS_RULE_ID = 'leash:builtin/egress';

/** What a session shows its egress: read at each decision, so reloads and modes apply. */
export interface SessionView {
  name: string;
  principal: string;
  rules(): PrincipalIR;
  mode(): Mode;
  always(): Set<string>;
  push(e: NewEvent): void;
  mcp(): SessionMcp;
  log: Logger;
}

/** Permits for TCP/UDP to the redirected ports and DNS: nftables sends them to leashd. */
export function egressConnectRules(p: PrincipalIR): ConnectRule[] {
  if (!sandboxEgress()) return [];
  return [...redirectedPorts(p), 53].map((port) => ({
    id: EGRESS_RULE_ID,
    effect: 'permit' as const,
    match: [{ kind: 'port' as const, lo: port, hi: port }],
  }));
}

/** What the container needs: trust (bundle, CA file, env) and leashd as its name server. */
export function egressContainerSpec(): {
  binds: string[];
  env: Record<string, string>;
  dns: string[];
} {
  const egress = sandboxEgress();
  if (!egress) return { binds: [], env: {}, dns: [] };
  return {
    binds: [`${egress.bundleFile}:${SANDBOX_BUNDLE}:ro`, `${egress.caFile}:${SANDBOX_CA}:ro`],
    env: trustEnv(),
    dns: [egress.gateway],
  };
}

export class SessionEgress {
  private closed = false;
  /** Address -> the names the resolver answered with it, for this session. */
  private readonly names = new Map<string, Set<string>>();

  private constructor(
    private readonly egress: Egress,
    private readonly view: SessionView,
    private readonly pid: number,
    private readonly address: string,
  ) {}

  /** Redirects the sandbox's traffic and ties its address to the session. Undefined when
   *  leashd runs without egress. */
  static async attach(
    view: SessionView,
    container: { pid: number; address: string },
  ): Promise<SessionEgress | undefined> {
    const egress = sandboxEgress();
    if (!egress) return undefined;
    if (!container.address) {
      throw new Error('the sandbox has no address on the bridge; egress cannot be redirected');
    }
    const s = new SessionEgress(egress, view, container.pid, container.address);
    egress.proxy.attach(container.address, s.proxyClient());
    egress.resolver.attach(container.address, s.resolverClient());
    try {
      await s.redirect();
    } catch (err) {
      s.detach();
      throw err;
    }
    return s;
  }

  /** After a reload: redirect the ports the new policy names. */
  async redirect(): Promise<void> {
    const ports = new Map<number, number>();
    for (const port of redirectedPorts(this.view.rules())) {
      ports.set(port, await this.egress.proxy.portFor(port));
    }
    if (this.closed) return;
    applyRedirection(this.pid, {
      gateway: this.egress.gateway,
      ports,
      dnsPort: this.egress.dnsPort,
    });
  }

  /** The names this session resolved to `address` (so a connect's event can name its host). */
  namesOf(address: string): string[] {
    return [...(this.names.get(address) ?? [])].sort();
  }

  detach(): void {
    this.closed = true;
    this.egress.proxy.detach(this.address);
    this.egress.resolver.detach(this.address);
  }

  private proxyClient(): EgressClient {
    const v = this.view;
    return {
      name: v.name,
      principal: v.principal,
      judge: (r) => {
        const verdict = decideHttp(v.rules(), r);
        if (verdict.decision === 'allow' || v.mode() === 'enforce') {
          return { decision: verdict.decision, verdict };
        }
        // Shadow and record: only the @always forbids still deny.
        const always = verdict.policies.some((id) => v.always().has(id));
        return { decision: always ? 'deny' : 'would-deny', verdict };
      },
      record: (e) => v.push({ ...e, session: v.name, principal: v.principal }),
      mcp: () => v.mcp(),
    };
  }

  private resolverClient(): ResolverClient {
    const v = this.view;
    return {
      name: v.name,
      mayResolve: (host) => hostCouldBeAllowed(v.rules(), host) || v.mode() !== 'enforce',
      resolved: (host, addresses, refusedBecause) => {
        if (refusedBecause === undefined) {
          for (const a of addresses) {
            const known = this.names.get(a) ?? new Set<string>();
            known.add(host);
            this.names.set(a, known);
          }
          return;
        }
        v.push({
          time: nowRfc3339Nano(),
          session: v.name,
          principal: v.principal,
          kind: 'net',
          action: 'Resolve',
          resource: host,
          decision: 'deny',
          policies: [],
          count: 1,
          pid: 0,
          comm: '',
          details: { host, reason: refusedBecause },
        });
      },
    };
  }
}
