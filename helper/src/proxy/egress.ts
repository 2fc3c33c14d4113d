/**
 * Egress for sandboxes, started once by leashd: the CA, the proxy, the resolver and the trust
 * bundle sandboxes mount. Sessions reach it through `sandboxEgress()`; a leashd that did not
 * start it (unit tests) gives sessions no redirection and no built-in permits for it, so their
 * connects to 80, 443 and 53 are judged by the kernel alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../log';
import { SecretStore } from '../secrets/store';
import { CertificateAuthority } from './ca';
import { EgressProxy } from './proxy';
import { SandboxResolver } from './resolver';
import { loadTestSettings } from './settings';
import { UpstreamResolver } from './upstream';

/** Where sandboxes find the CA: the system bundle path, plus a file of the CA alone. */
export const SANDBOX_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
export const SANDBOX_CA = '/usr/local/share/ca-certificates/leash-ca.crt';

export interface Egress {
  gateway: string;
  proxy: EgressProxy;
  resolver: SandboxResolver;
  dnsPort: number;
  secrets: SecretStore;
  /** Host files mounted read-only into every sandbox: the bundle and the CA. */
  bundleFile: string;
  caFile: string;
  close(): void;
}

let current: Egress | undefined;

export function sandboxEgress(): Egress | undefined {
  return current;
}

export async function startEgress(o: {
  stateDir: string;
  /** The sandbox bridge's gateway address: where the proxy and resolver listen. */
  gateway: string;
  testSettingsFile?: string;
  log: Logger;
}): Promise<Egress> {
  const test = loadTestSettings(o.testSettingsFile);
  const ca = await CertificateAuthority.open(o.stateDir);
  const upstream = new UpstreamResolver(test);
  const secrets = new SecretStore(o.stateDir);
  const proxy = new EgressProxy({ bindAddress: o.gateway, ca, secrets, upstream, log: o.log });
  const resolver = new SandboxResolver({
    bindAddress: o.gateway,
    testAnswer: o.gateway,
    upstream,
    log: o.log,
  });
  const dnsPort = await resolver.start();

  // What sandboxes trust: the host's bundle plus the CA, in a directory they may read.
  const dir = path.join(o.stateDir, 'sandbox');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const caFile = path.join(dir, 'leash-ca.crt');
  const bundleFile = path.join(dir, 'ca-certificates.crt');
  fs.writeFileSync(caFile, ca.certPem, { mode: 0o644 });
  const system = fs.existsSync(SANDBOX_BUNDLE) ? fs.readFileSync(SANDBOX_BUNDLE, 'utf8') : '';
  fs.writeFileSync(bundleFile, `${system.trimEnd()}\n${ca.certPem.trimEnd()}\n`, { mode: 0o644 });

  current = {
    gateway: o.gateway,
    proxy,
    resolver,
    dnsPort,
    secrets,
    bundleFile,
    caFile,
    close: () => {
      proxy.close();
      resolver.close();
      current = undefined;
    },
  };
  o.log.info('egress ready', { gateway: o.gateway, dnsPort, test: test !== undefined });
  return current;
}

/** Environment that points common TLS stacks at the bundle holding the CA. */
export function trustEnv(): Record<string, string> {
  return {
    SSL_CERT_FILE: SANDBOX_BUNDLE,
    REQUESTS_CA_BUNDLE: SANDBOX_BUNDLE,
    CURL_CA_BUNDLE: SANDBOX_BUNDLE,
    NODE_EXTRA_CA_CERTS: SANDBOX_CA,
    GIT_SSL_CAINFO: SANDBOX_BUNDLE,
  };
}

/** The gateway address of Docker's default bridge, where sandboxes reach leashd. */
export async function bridgeGateway(docker: {
  getNetwork(id: string): { inspect(): Promise<{ IPAM?: { Config?: { Gateway?: string }[] } }> };
}): Promise<string> {
  const info = await docker.getNetwork('bridge').inspect();
  const gateway = info.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  if (!gateway) {
    throw new Error("Docker's bridge network has no IPv4 gateway; leashd's proxy listens there");
  }
  return gateway;
}
