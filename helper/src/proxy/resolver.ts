/**
 * leashd's DNS resolver for sandboxes (UDP and TCP on one port of the bridge's gateway; the
 * sandbox's port 53 is redirected to it). A name the session's policy could not allow is
 * answered NXDOMAIN locally and never forwarded, so no data leaves in query names; the answers
 * given are recorded per session.
 */
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as packet from 'dns-packet';
import type { Logger } from '../log';
import type { UpstreamResolver } from './upstream';

export interface ResolverClient {
  name: string;
  /** Whether the policy could allow anything for this host name. */
  mayResolve(host: string): boolean;
  /** A name answered (with its addresses) or refused. */
  resolved(host: string, addresses: string[], refusedBecause?: string): void;
}

const MAX_TCP_MESSAGE = 65_535;

export class SandboxResolver {
  private readonly clients = new Map<string, ResolverClient>();
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly forwarder = new dns.promises.Resolver({ timeout: 3000, tries: 2 });

  constructor(
    private readonly o: {
      bindAddress: string;
      /** What a sandbox is told for a test host name: the gateway, where the proxy listens. */
      testAnswer: string;
      upstream: UpstreamResolver;
      log: Logger;
    },
  ) {
    const testServer = o.upstream.testDnsServer;
    if (testServer) this.forwarder.setServers([testServer]);
  }

  /** Listens on UDP and TCP of one free port; returns it. */
  async start(): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = dgram.createSocket('udp4');
      const port = await new Promise<number>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, this.o.bindAddress, () => resolve(udp.address().port));
      });
      const tcp = net.createServer((s) => this.onTcp(s));
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(port, this.o.bindAddress, () => resolve(true));
      });
      if (!ok) {
        udp.close();
        continue;
      }
      udp.on('message', (msg, from) => {
        this.answer(msg, from.address).then(
          (reply) => reply && udp.send(reply, from.port, from.address),
          (err: Error) => this.failed(err),
        );
      });
      this.udp = udp;
      this.tcp = tcp;
      return port;
    }
    throw new Error(
      `the resolver found no port free for both UDP and TCP on ${this.o.bindAddress}`,
    );
  }

  attach(address: string, client: ResolverClient): void {
    this.clients.set(address, client);
  }

  detach(address: string): void {
    this.clients.delete(address);
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
  }

  private onTcp(socket: net.Socket): void {
    let buffered = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) {
          if (buffered.length > MAX_TCP_MESSAGE + 2) socket.destroy();
          return;
        }
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const from = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
        this.answer(msg, from).then(
          (r) => {
            if (!r) return;
            const framed = Buffer.alloc(2 + r.length);
            framed.writeUInt16BE(r.length, 0);
            r.copy(framed, 2);
            if (socket.writable) socket.write(framed);
          },
          (err: Error) => this.failed(err),
        );
      }
    });
  }

  /** A bug met while answering one query: logged; the query goes unanswered. */
  private failed(err: Error): void {
    this.o.log.error('resolver failed on a query', { error: err.stack ?? err.message });
  }

  /** The reply to one query, or undefined for garbage and strangers (dropped, logged). */
  private async answer(msg: Buffer, from: string): Promise<Buffer | undefined> {
    const client = this.clients.get(from);
    if (!client) {
      this.o.log.warn('DNS query from an address of no session', { address: from });
      return undefined;
    }
    let query: packet.Packet;
    try {
      query = packet.decode(msg);
    } catch (err) {
      this.o.log.warn('malformed DNS query', {
        session: client.name,
        error: (err as Error).message,
      });
      return undefined;
    }
    const question = query.questions?.[0];
    if (query.type !== 'query' || !question || query.questions?.length !== 1) {
      return reply(query, 'FORMERR', []);
    }
    const host = question.name.toLowerCase().replace(/\.$/, '');
    if (!client.mayResolve(host)) {
      client.resolved(host, [], 'no policy could allow a request to this name');
      return reply(query, 'NXDOMAIN', []);
    }
    if (question.type !== 'A' && question.type !== 'AAAA') return reply(query, 'NOERROR', []);
    try {
      const addresses = await this.lookup(host, question.type);
      client.resolved(host, addresses);
      const answers = addresses.map((data) => ({
        type: question.type,
        class: 'IN' as const,
        name: question.name,
        ttl: 60,
        data,
      }));
      return reply(query, 'NOERROR', answers as packet.Answer[]);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      client.resolved(host, [], (err as Error).message);
      return reply(query, code === 'ENOTFOUND' || code === 'ENODATA' ? 'NXDOMAIN' : 'SERVFAIL', []);
    }
  }

  private async lookup(host: string, type: 'A' | 'AAAA'): Promise<string[]> {
    if (this.o.upstream.knows(host)) return type === 'A' ? [this.o.testAnswer] : [];
    if (this.o.upstream.closedWorld && !this.o.upstream.testDnsServer) {
      const message = `${host} is not among the test hosts`;
      throw Object.assign(new Error(message), { code: 'ENOTFOUND' });
    }
    return type === 'A' ? this.forwarder.resolve4(host) : this.forwarder.resolve6(host);
  }
}

function reply(query: packet.Packet, rcode: string, answers: packet.Answer[]): Buffer {
  return packet.encode({
    id: query.id,
    type: 'response',
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | rcodeFlag(rcode),
    questions: query.questions,
    answers,
  });
}

function rcodeFlag(rcode: string): number {
  return { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 }[rcode] ?? 2;
}
