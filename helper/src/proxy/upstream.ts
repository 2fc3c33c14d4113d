/**
 * Where the proxy may connect for a host: addresses it resolved itself (never the client's
 * idea of them), refusing the machine's own and link-local addresses so that a permissive
 * policy does not open the host or a cloud metadata service to the sandbox.
 */
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ProxyTestSettings } from './settings';
import { parseAddress, unmap } from '@leash/policies';

export class UpstreamResolver {
  /** The CAs upstream certificates are verified against, in one TLS context shared by every
   *  upstream connection: building it parses every certificate, and handing `ca` to each agent
   *  or connection would do that (and hash the whole list into the agent's pool key) again and
   *  again. */
  readonly secureContext: tls.SecureContext;
  /** Test hosts: how many times each was resolved, to hand out their answers in turn. */
  private readonly turns = new Map<string, number>();

  constructor(private readonly test: ProxyTestSettings | undefined) {
    const trusted = [
      ...tls.rootCertificates,
      ...readSystemBundle(),
      ...(test?.upstreamCa ? [test.upstreamCa] : []),
    ];
    this.secureContext = tls.createSecureContext({ ca: trusted });
  }

  /** Whether names are answered only from the test settings (nothing forwarded). */
  get closedWorld(): boolean {
    return this.test !== undefined;
  }

  /** The test's own DNS server that names other than test hosts go to, if it has one. */
  get testDnsServer(): string | undefined {
    return this.test?.dnsServer;
  }

  /** Whether a test host of that name exists (closed world only; takes no turn). */
  knows(host: string): boolean {
    return this.test?.hosts[host] !== undefined;
  }

  /**
   * The addresses of `host`, resolved once per call; the caller connects to exactly these
   * (never resolving again), so a name whose answers change cannot pass the check with one
   * address and be dialled at another. Throws with the reason when none may be used.
   */
  async resolve(host: string): Promise<string[]> {
    if (this.test) {
      const turns = this.test.hosts[host];
      if (!turns) throw new Error(`${host} is not among the test hosts`);
      const turn = this.turns.get(host) ?? 0;
      this.turns.set(host, turn + 1);
      const address = turns[turn % turns.length] as string;
      const refuse = this.test.refuse ?? [];
      return usable(host, [address], (a) => refuse.includes(a));
    }
    if (net.isIP(host)) return usable(host, [host]);
    const found = await dns.promises.lookup(host, { all: true, verbatim: true });
    return usable(
      host,
      found.map((a) => a.address),
    );
  }
}

function usable(
  host: string,
  addresses: string[],
  isRefused: (address: string) => boolean = refused,
): string[] {
  const ok = addresses.filter((a) => !isRefused(a));
  if (ok.length === 0) {
    throw new Error(
      `${host} resolves only to addresses the proxy never connects to ` +
        `(${addresses.join(', ') || 'none'}: loopback, link-local or unspecified)`,
    );
  }
  return ok;
}

/**
 * Loopback, link-local (cloud metadata lives there), unspecified and multicast, in any spelling:
 * the address is parsed and an IPv4-mapped IPv6 address judged as the IPv4 it carries, so
 * `0:0:0:0:0:ffff:7f00:1` is 127.0.0.1. IPv4-compatible addresses (`::a.b.c.d`) are refused
 * whole. Something that is not an address at all is refused too.
 */
export function refused(address: string): boolean {
  const parsed = parseAddress(address.replace(/%.*$/, ''));
  if (!parsed) return true;
  const a = unmap(parsed);
  if (a.family === 4) {
    const x = Number(a.bits >> 24n);
    const y = Number((a.bits >> 16n) & 0xffn);
    return x === 127 || x === 0 || (x === 169 && y === 254) || x >= 224;
  }
  const top = Number(a.bits >> 112n);
  return (
    a.bits >> 32n === 0n || // ::, ::1 and IPv4-compatible
    (top & 0xffc0) === 0xfe80 || // link-local
    top >> 8 === 0xff // multicast
  );
}

function readSystemBundle(): string[] {
  const file = '/etc/ssl/certs/ca-certificates.crt';
  try {
    return [fs.readFileSync(file, 'utf8')];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
