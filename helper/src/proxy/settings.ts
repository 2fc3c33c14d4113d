/**
 * Test-only settings of the proxy and resolver, read from the JSON file given to leashd with
 * `--proxy-test-settings` (never from /etc/leash/leashd.json): tests resolve no real names
 * and trust their own upstream CA.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface ProxyTestSettings {
  /** Host name -> the loopback addresses the proxy dials for it, one per resolution in
   *  turn (so a test can change the answer between requests). When set, the resolver
   *  answers only these names and forwards nothing. */
  hosts: Record<string, string[]>;
  /** Loopback addresses the proxy must treat like link-local ones and never dial: they stand
   *  for a metadata or internal address a name may turn into, without aiming at a real one. */
  refuse?: string[];
  /** `127.x.y.z:port` of the test's own DNS server: names that are not test hosts are
   *  forwarded there, as they would be to the host's name servers, instead of nowhere. */
  dnsServer?: string;
  /** PEM of a CA trusted for upstream certificates besides the host's store. */
  upstreamCa?: string;
}

export function loadTestSettings(file: string | undefined): ProxyTestSettings | undefined {
  if (!file) return undefined;
  let raw: {
    hosts?: Record<string, string | string[]>;
    refuse?: string[];
    dnsServer?: string;
    upstreamCaFile?: string;
  };
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof raw;
  } catch (err) {
    throw new Error(`proxy test settings ${file}: ${(err as Error).message}`);
  }
  const loopback = (what: string, address: unknown): string => {
    if (typeof address !== 'string' || !address.startsWith('127.') || !net.isIPv4(address)) {
      throw new Error(
        `proxy test settings ${file}: ${what} maps to ${JSON.stringify(address)}, ` +
          'not a loopback IPv4 address (tests dial nothing else)',
      );
    }
    return address;
  };
  const hosts: Record<string, string[]> = {};
  for (const [name, answer] of Object.entries(raw.hosts ?? {})) {
    const turns = Array.isArray(answer) ? answer : [answer];
    if (turns.length === 0) throw new Error(`proxy test settings ${file}: ${name} has no address`);
    hosts[name.toLowerCase()] = turns.map((a) => loopback(name, a));
  }
  const refuse = (raw.refuse ?? []).map((a) => loopback('refuse', a));
  let dnsServer: string | undefined;
  if (raw.dnsServer !== undefined) {
    const m = /^(.*):(\d{1,5})$/.exec(String(raw.dnsServer));
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) {
      const given = JSON.stringify(raw.dnsServer);
      throw new Error(`proxy test settings ${file}: dnsServer ${given} is not ADDRESS:PORT`);
    }
    dnsServer = `${loopback('dnsServer', m[1])}:${port}`;
  }
  const upstreamCa = raw.upstreamCaFile ? fs.readFileSync(raw.upstreamCaFile, 'utf8') : undefined;
  return { hosts, refuse, dnsServer, upstreamCa };
}
