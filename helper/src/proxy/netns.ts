/**
 * The redirection inside a sandbox's network namespace, with nftables (leashd enters the
 * namespace by the container's pid; the sandbox has no CAP_NET_ADMIN to undo it): TCP to the
 * redirected ports goes to the proxy's listener for that port, DNS (UDP and TCP 53) to the
 * resolver, and what could slip past both is rejected: UDP to the redirected ports (QUIC, so
 * clients fall back to TCP) and IPv6 to any of them (the proxy listens on IPv4 only).
 * Loopback inside the sandbox is left alone.
 */
import { spawnSync } from 'node:child_process';

export interface Redirection {
  gateway: string;
  /** Original TCP port -> the proxy's port on the gateway. */
  ports: Map<number, number>;
  dnsPort: number;
}

const TABLE = 'leash';

/** The nftables script that replaces the sandbox's table in one transaction. */
export function nftScript(r: Redirection): string {
  const tcp = [...r.ports.entries()].map(
    ([from, to]) => `    ip daddr != 127.0.0.0/8 tcp dport ${from} dnat ip to ${r.gateway}:${to}`,
  );
  const all = [...r.ports.keys(), 53].join(', ');
  const redirected = [...r.ports.keys()].join(', ');
  return [
    `table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    '  chain to_proxy {',
    '    type nat hook output priority -100; policy accept;',
    ...tcp,
    `    ip daddr != 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 dnat ip to ${r.gateway}:${r.dnsPort}`,
    '  }',
    '  chain no_bypass {',
    '    type filter hook output priority filter; policy accept;',
    `    ip daddr != 127.0.0.0/8 udp dport { ${redirected} } reject`,
    `    ip6 daddr != ::1 meta l4proto { tcp, udp } th dport { ${all} } reject`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Installs or replaces the redirection in the network namespace of process `pid`. */
export function applyRedirection(pid: number, r: Redirection): void {
  const result = spawnSync('nsenter', ['-t', String(pid), '-n', 'nft', '-f', '-'], {
    input: nftScript(r),
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error || result.status !== 0) {
    throw new Error(
      `could not redirect the sandbox's traffic to the proxy with nftables (pid ${pid}): ` +
        `${result.error?.message ?? result.stderr.trim()}; is the nftables package installed ` +
        '(npm run setup installs it)?',
    );
  }
}
