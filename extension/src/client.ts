/**
 * leashd's gRPC API over its unix socket, promise-based. Failures become `HelperError`s that
 * say what is wrong with the helper (not running, no permission, refused) and how to fix it.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { helperProblem, type HelperProblem, type SocketState } from './helper-problem';
import type { AttachInput, AttachOutput, AuditEvent } from './wire';

/** The proto file is copied next to the bundle by build.mjs. */
const PROTO = path.join(__dirname, 'leash.proto');

let service: grpc.ServiceClientConstructor | undefined;
function loadService(): grpc.ServiceClientConstructor {
  if (!service) {
    const def = protoLoader.loadSync(PROTO, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      leash: { v1: { Leash: grpc.ServiceClientConstructor } };
    };
    service = pkg.leash.v1.Leash;
  }
  return service;
}

export class HelperError extends Error {
  constructor(readonly problem: HelperProblem) {
    super(problem.message);
  }
}

type Method = (...args: unknown[]) => unknown;

export class LeashClient {
  private readonly raw: grpc.Client & Record<string, Method>;

  constructor(readonly socket: string) {
    const Service = loadService();
    this.raw = new Service(`unix://${socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as LeashClient['raw'];
  }

  call<Res>(method: string, req: object, timeoutMs = 60_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = this.raw[method];
      if (!fn) return reject(new Error(`leashd's API has no call ${method}`));
      fn.call(
        this.raw,
        req,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res: Res) => (err ? reject(this.error(err)) : resolve(res)),
      );
    });
  }

  /** True when leashd answers within `ms`. */
  ready(ms: number): Promise<boolean> {
    return new Promise((resolve) => this.raw.waitForReady(Date.now() + ms, (err) => resolve(!err)));
  }

  attach(): grpc.ClientDuplexStream<AttachInput, AttachOutput> {
    return (this.raw['attach'] as () => grpc.ClientDuplexStream<AttachInput, AttachOutput>).call(
      this.raw,
    );
  }

  queryEvents(query: object): grpc.ClientReadableStream<AuditEvent> {
    const fn = this.raw['queryEvents'] as (q: object) => grpc.ClientReadableStream<AuditEvent>;
    return fn.call(this.raw, query);
  }

  /** A gRPC failure as a HelperError (cancellations pass through unchanged). */
  error(err: grpc.ServiceError): Error {
    if (err.code === grpc.status.CANCELLED) return err;
    return new HelperError(
      helperProblem(this.socket, socketState(this.socket), err.code, err.details),
    );
  }

  close(): void {
    this.raw.close();
  }
}

export function socketState(file: string): SocketState {
  try {
    fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
    return 'present';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'no-access';
  }
}
