/**
 * Test-only settings of the proxy and resolver, read from the JSON file given to leashd with
 * `--proxy-test-settings` (never from /etc/leash/leashd.json): tests resolve no real names
 * and trust their own upstream CA.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface ProxyTestSettings {
  /** Host name -> loopback address the proxy dials for it. When set, the resolver answers
   *  only these names and forwards nothing. */
  hosts: Record<string, string>;
  /** PEM of a CA trusted for upstream certificates besides the host's store. */
  upstreamCa?: string;
}

export function loadTestSettings(file: string | undefined): ProxyTestSettings | undefined {
  if (!file) return undefined;
  let raw: { hosts?: Record<string, string>; upstreamCaFile?: string };
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof raw;
  } catch (err) {
    throw new Error(`proxy test settings ${file}: ${(err as Error).message}`);
  }
  const hosts: Record<string, string> = {};
  for (const [name, address] of Object.entries(raw.hosts ?? {})) {
    if (!address.startsWith('127.') || net.isIPv4(address) === false) {
      throw new Error(
        `proxy test settings ${file}: ${name} maps to ${address}, not a loopback IPv4`,
      );
    }
    hosts[name.toLowerCase()] = address;
  }
  const upstreamCa = raw.upstreamCaFile ? fs.readFileSync(raw.upstreamCaFile, 'utf8') : undefined;
  return { hosts, upstreamCa };
}
