/**
 * The installation's interception CA: created on first start in the state directory (key 0600,
 * never inside a sandbox), and the leaf certificates it mints per TLS server name, cached.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';

type CryptoKey = crypto.webcrypto.CryptoKey;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(
  crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1],
);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;
/** Leaf certificates live a week; a cached one is re-minted a day before it ends. */
const LEAF_DAYS = 7;
const CA_YEARS = 10;

export class CertificateAuthority {
  private readonly leaves = new Map<
    string,
    Promise<{ context: tls.SecureContext; until: number }>
  >();

  private constructor(
    /** The CA certificate, PEM: what sandboxes trust. */
    readonly certPem: string,
    private readonly caCert: x509.X509Certificate,
    private readonly caKey: CryptoKey,
    private readonly leafKeys: CryptoKeyPair,
    private readonly leafKeyPem: string,
  ) {}

  /** Loads the CA from `dir` (ca.crt, ca.key), creating it there first if there is none. */
  static async open(dir: string): Promise<CertificateAuthority> {
    const certFile = path.join(dir, 'ca.crt');
    const keyFile = path.join(dir, 'ca.key');
    if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) await create(certFile, keyFile);
    const mode = fs.statSync(keyFile).mode & 0o777;
    if (mode !== 0o600) {
      throw new Error(`${keyFile} has mode ${mode.toString(8)}; it must be 0600 (chmod 600 it)`);
    }
    const certPem = fs.readFileSync(certFile, 'utf8');
    const caCert = new x509.X509Certificate(certPem);
    const der = crypto
      .createPrivateKey(fs.readFileSync(keyFile, 'utf8'))
      .export({ type: 'pkcs8', format: 'der' });
    const caKey = await crypto.webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    // One key for every leaf: minting then costs a signature, not a key generation.
    const leafKeys = (await crypto.webcrypto.subtle.generateKey(ALG, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const leafDer = await crypto.webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
    const leafKeyPem = pkcs8Pem(Buffer.from(leafDer));
    return new CertificateAuthority(certPem, caCert, caKey, leafKeys, leafKeyPem);
  }

  /** A TLS context presenting a certificate for `host`, minted once and cached. */
  async contextFor(host: string): Promise<tls.SecureContext> {
    const cached = this.leaves.get(host);
    if (cached) {
      const leaf = await cached;
      if (leaf.until > Date.now() + DAY) return leaf.context;
    }
    const minted = this.mint(host);
    this.leaves.set(host, minted);
    minted.catch(() => this.leaves.delete(host));
    return (await minted).context;
  }

  private async mint(host: string): Promise<{ context: tls.SecureContext; until: number }> {
    const notAfter = new Date(Date.now() + LEAF_DAYS * DAY);
    const isIp = net.isIP(host) !== 0;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: crypto
        .randomBytes(12)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      subject: `CN=${host.replace(/[,+"\\<>;=]/g, '')}`,
      issuer: this.caCert.subject,
      notBefore: new Date(Date.now() - DAY),
      notAfter,
      signingKey: this.caKey,
      publicKey: this.leafKeys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: isIp ? 'ip' : 'dns', value: host }]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCert),
      ],
    });
    const context = tls.createSecureContext({
      key: this.leafKeyPem,
      cert: cert.toString('pem') + '\n' + this.certPem,
    });
    return { context, until: notAfter.getTime() };
  }
}

async function create(certFile: string, keyFile: string): Promise<void> {
  const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + crypto.randomBytes(8).toString('hex'),
    name: `CN=Leash interception CA (${crypto.randomBytes(4).toString('hex')}), O=Leash`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + CA_YEARS * 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const der = await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  // Key first, created 0600 from the start (never briefly readable), then the certificate.
  fs.writeFileSync(keyFile, pkcs8Pem(Buffer.from(der)), { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(certFile, cert.toString('pem') + '\n', { mode: 0o644 });
}

function pkcs8Pem(der: Buffer): string {
  return crypto
    .createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
}
