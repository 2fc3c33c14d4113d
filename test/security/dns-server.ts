/**
 * A DNS server of the test's own on loopback (UDP and TCP), standing for the name servers a
 * query could be forwarded to: it records every question it is asked and answers an `A`
 * question with 127.0.0.1 and any other with no records.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

export interface Question {
  name: string;
  /** The numeric query type (1 A, 16 TXT, 28 AAAA, ...). */
  type: number;
  over: 'udp' | 'tcp';
}

export class DnsServer {
  readonly asked: Question[] = [];
  private udp?: dgram.Socket;
  private tcp?: net.Server;

  /** Listens on `address:port` (0 picks a port free for both); returns the port. */
  async listen(address: string, port = 0): Promise<number> {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, from) => {
      const reply = this.answer(msg, 'udp');
      if (reply) udp.send(reply, from.port, from.address);
    });
    const bound = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, address, () => resolve(udp.address().port));
    });
    const tcp = net.createServer((s) => {
      let buffered = Buffer.alloc(0);
      s.on('error', () => s.destroy());
      s.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          const reply = this.answer(msg, 'tcp');
          if (!reply) continue;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(reply.length);
          s.write(Buffer.concat([length, reply]));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(bound, address, () => resolve());
    });
    this.udp = udp;
    this.tcp = tcp;
    return bound;
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
  }

  /** Whether any question asked so far holds `text` in its name. */
  wasAsked(text: string): boolean {
    return this.asked.some((q) => q.name.includes(text.toLowerCase()));
  }

  private answer(msg: Buffer, over: 'udp' | 'tcp'): Buffer | undefined {
    const question = parseQuestion(msg);
    if (!question) return undefined;
    this.asked.push({ name: question.name, type: question.type, over });
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, NOERROR
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(question.type === 1 ? 1 : 0, 6);
    const asked = msg.subarray(12, question.end);
    if (question.type !== 1) return Buffer.concat([header, asked]);
    // The answer names the question by a pointer to offset 12; TTL 60; 127.0.0.1.
    const record = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    return Buffer.concat([header, asked, record]);
  }
}

/** The first question of a query: its name, type, and where it ends in the message. */
function parseQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length) {
    const length = msg[at] as number;
    if (length === 0) break;
    if (length > 63) return undefined;
    labels.push(msg.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  if (at + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at + 1), end: at + 5 };
}
