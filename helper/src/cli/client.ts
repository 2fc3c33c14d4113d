/** A promise-based client of leashd's gRPC service, for the CLI. */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { loadService } from '../grpc';

export class LeashClient {
  readonly raw: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(readonly socket: string) {
    const Service = loadService();
    this.raw = new Service(`unix://${socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as LeashClient['raw'];
  }

  private listeningCheck?: Promise<void>;

  /**
   * Resolves once leashd's socket takes a connection; rejects at once, saying so, when nothing
   * listens there. Calls then wait for the channel to be ready (until their deadline) instead
   * of failing on a first connection attempt that a slow start cut short.
   */
  listening(): Promise<void> {
    this.listeningCheck ??= new Promise((resolve, reject) => {
      const probe = net.connect({ path: this.socket });
      probe.once('connect', () => {
        probe.destroy();
        resolve();
      });
      probe.once('error', (err: NodeJS.ErrnoException) => {
        probe.destroy();
        if (err.code === 'EACCES') reject(permissionError(this.socket));
        else if (err.code === 'ENOENT') reject(notRunningError(this.socket, 'no socket there'));
        else if (err.code === 'ECONNREFUSED') {
          reject(notRunningError(this.socket, 'nothing accepts connections on it'));
        } else reject(new Error(`cannot reach leashd on ${this.socket}: ${err.message}`));
      });
    });
    return this.listeningCheck;
  }

  /** Calls a unary method; a failure becomes an Error carrying leashd's own message. */
  async call<Res>(method: string, req: object, timeoutMs = 120_000): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    await this.listening();
    return new Promise((resolve, reject) => {
      const fn = this.raw[method];
      if (!fn) return reject(new Error(`no such call ${method}`));
      fn.call(
        this.raw,
        req,
        waitingMetadata(),
        { deadline },
        (err: grpc.ServiceError | null, res: Res) =>
          err ? reject(clientError(err, this.socket)) : resolve(res),
      );
    });
  }

  /** Resolves when leashd answers on its socket within `ms`, else false. */
  ready(ms: number): Promise<boolean> {
    return new Promise((resolve) => this.raw.waitForReady(Date.now() + ms, (err) => resolve(!err)));
  }

  close(): void {
    this.raw.close();
  }
}

export function clientError(err: grpc.ServiceError, socket: string): Error {
  if (err.code === grpc.status.UNAVAILABLE) {
    if (!reachable(socket)) return permissionError(socket);
    return notRunningError(socket, `the connection failed: ${err.details || err.message}`);
  }
  // gRPC's own words ("Received message larger than max (N vs M)") say what, not what to do.
  const size = /larger than max \((\d+) vs (\d+)\)/.exec(err.details ?? '');
  if (err.code === grpc.status.RESOURCE_EXHAUSTED && size) {
    const mib = (n: string) => `${(Number(n) / 1024 / 1024).toFixed(1)} MiB`;
    return new Error(
      `the request is ${mib(size[1] as string)}, more than the ${mib(size[2] as string)} leashd ` +
        'accepts: a policy that large is refused; split it or remove generated statements',
    );
  }
  return new Error(err.details || err.message);
}

/** Call metadata asking gRPC to queue the call until the channel connects (to its deadline),
 *  not to fail it on a first connection attempt that did not succeed. */
export function waitingMetadata(): grpc.Metadata {
  return new grpc.Metadata({ waitForReady: true });
}

/** `why`: what was seen, for the cases where leashd may be alive after all. */
function notRunningError(socket: string, why: string): Error {
  return new Error(
    `leashd is not running on ${socket} (${why}); start it with \`leash helper start\``,
  );
}

function permissionError(socket: string): Error {
  return new Error(
    `no permission to use leashd's socket ${socket}; join the \`leash\` group or use sudo`,
  );
}

/** False when the socket exists (or may) but this user may not use it. */
function reachable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
