/**
 * Real upstream servers for the proxy suites, on loopback addresses of their own: HTTPS with a
 * test CA (and one with a certificate no one trusts), plain HTTP, and a WebSocket-style
 * upgrade that echoes bytes. Every request is recorded for assertions.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A test CA and a server certificate it signed for `names`, made with openssl. */
export function makeCertificates(names: string[]): {
  dir: string;
  caFile: string;
  key: string;
  cert: string;
  selfKey: string;
  selfCert: string;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-proxy-ca-'));
  const run = (args: string[]): void =>
    void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=Leash test upstream CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  run(['req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', `/CN=${names[0]}`]);
  fs.writeFileSync(
    path.join(dir, 'ext'),
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`,
  );
  run([
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.crt',
    '-days',
    '2',
    '-extfile',
    'ext',
  ]);
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'self.key',
    '-out',
    'self.crt',
    '-days',
    '2',
    '-subj',
    `/CN=${names[0]}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
  ]);
  const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    key: read('srv.key'),
    cert: read('srv.crt'),
    selfKey: read('self.key'),
    selfCert: read('self.crt'),
  };
}

/** A loopback address of this run's own (127.x.y.z), so ports 80 and 443 are free on it. */
export function loopbackAddress(): string {
  const b = crypto.randomBytes(3);
  return `127.${((b[0] as number) % 200) + 20}.${b[1]}.${((b[2] as number) % 250) + 2}`;
}

export class Upstream {
  readonly seen: Seen[] = [];
  private readonly servers: net.Server[] = [];

  /** Listens with TLS (`tls` given) or plain HTTP on `address:port`. */
  async listen(
    address: string,
    port: number,
    tls?: { key: string; cert: string },
  ): Promise<number> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        this.seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
        });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ upstream: 'ok', method: req.method, url: req.url, body }));
      });
    };
    const server = tls
      ? https.createServer({ ...tls, ALPNProtocols: ['http/1.1'] }, handler)
      : http.createServer(handler);
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      this.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: '',
      });
      const accept = crypto
        .createHash('sha1')
        .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  }

  close(): void {
    for (const s of this.servers) {
      s.close();
      (s as http.Server).closeAllConnections?.();
    }
  }
}
