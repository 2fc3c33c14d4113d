/**
 * Names seen in leashd's audit log, for completion: the hosts HTTP requests went to, the
 * addresses connects went to, the MCP servers and tools called. leashd is asked over its gRPC
 * socket (`LEASH_SOCKET`, else `/run/leash/leashd.sock`) in the background, a bounded number of
 * events at a time and never for longer than a deadline; completion only reads what has come
 * in, so an unreachable or slow leashd costs it nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const DEFAULT_SOCKET = '/run/leash/leashd.sock';
/** How long one refresh may take, and how often one may start. */
const DEADLINE_MS = 2000;
const REFRESH_EVERY_MS = 15_000;
/** Events read per refresh, and names kept per kind (the most recent). */
const EVENTS_PER_REFRESH = 5000;
const NAMES_KEPT = 500;

/** The proto beside the bundled server (the extension's build), else in this repository. */
const PROTO_CANDIDATES = [
  join(__dirname, '..', 'leash.proto'),
  join(__dirname, '..', '..', 'helper', 'proto', 'leash.proto'),
];

export interface Seen {
  /** How often, and how often denied. */
  count: number;
  denied: number;
}

/** What leashd's `Event` carries that is read here. */
interface WireEvent {
  id: string;
  kind: string;
  action: string;
  decision: string;
  count: string;
  details: string;
}

export class AuditNames {
  readonly hosts = new Map<string, Seen>();
  readonly addresses = new Map<string, Seen>();
  readonly mcpServers = new Map<string, Seen>();
  /** `server/tool`, as `McpTool` ids are written. */
  readonly mcpTools = new Map<string, Seen>();
  /** Why the last refresh read nothing, for the server log; null after one that worked. */
  problem: string | null = null;
  private lastId = '0';
  private lastStart = 0;
  private running: Promise<void> | null = null;
  private client: grpc.Client | null = null;

  constructor(private readonly socket: string) {}

  static fromEnvironment(): AuditNames {
    return new AuditNames(process.env.LEASH_SOCKET || DEFAULT_SOCKET);
  }

  /** Starts a refresh unless one ran recently; returns at once. */
  refreshSoon(): void {
    if (this.running || Date.now() - this.lastStart < REFRESH_EVERY_MS) return;
    void this.refresh();
  }

  /** Reads the events logged since the last refresh, within the deadline. */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }

  private async read(): Promise<void> {
    this.lastStart = Date.now();
    if (!existsSync(this.socket)) {
      this.problem = `leashd's socket ${this.socket} does not exist (is leashd running?)`;
      return;
    }
    const client = this.connect();
    if (!client) return;
    const query = (client as unknown as Record<string, (q: object, o: object) => unknown>)[
      'queryEvents'
    ];
    if (!query) {
      this.problem = "leashd's API has no QueryEvents";
      return;
    }
    const stream = query.call(
      client,
      { afterId: this.lastId, limit: EVENTS_PER_REFRESH },
      { deadline: Date.now() + DEADLINE_MS },
    ) as grpc.ClientReadableStream<WireEvent>;
    await new Promise<void>((done) => {
      stream.on('data', (e: WireEvent) => this.note(e));
      stream.on('error', (err: grpc.ServiceError) => {
        this.problem = `reading leashd's audit log through ${this.socket}: ${err.details}`;
        done();
      });
      stream.on('end', () => {
        this.problem = null;
        done();
      });
    });
  }

  private connect(): grpc.Client | null {
    if (this.client) return this.client;
    const proto = PROTO_CANDIDATES.find((p) => existsSync(p));
    if (!proto) {
      this.problem = `leashd's API description is missing (looked for ${PROTO_CANDIDATES})`;
      return null;
    }
    const def = protoLoader.loadSync(proto, { keepCase: false, longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      leash: { v1: { Leash: grpc.ServiceClientConstructor } };
    };
    this.client = new pkg.leash.v1.Leash(
      `unix://${this.socket}`,
      grpc.credentials.createInsecure(),
    );
    return this.client;
  }

  private note(e: WireEvent): void {
    this.lastId = e.id;
    let details: Record<string, unknown>;
    try {
      details = JSON.parse(e.details || '{}') as Record<string, unknown>;
    } catch (err) {
      this.problem = `event ${e.id} has details that are not JSON: ${String(err)}`;
      return;
    }
    const count = Number(e.count) || 1;
    const denied = e.decision === 'deny' ? count : 0;
    const add = (into: Map<string, Seen>, name: unknown): void => {
      if (typeof name !== 'string' || name === '') return;
      const seen = into.get(name) ?? { count: 0, denied: 0 };
      into.delete(name);
      into.set(name, { count: seen.count + count, denied: seen.denied + denied });
      // Maps keep insertion order: the first entry is the one seen longest ago.
      if (into.size > NAMES_KEPT) into.delete(into.keys().next().value as string);
    };
    if (e.kind === 'http') add(this.hosts, details['host']);
    if (e.kind === 'net' && e.action === 'Connect') {
      add(this.addresses, details['ip']);
      const hosts = details['hosts'];
      if (Array.isArray(hosts)) hosts.forEach((h) => add(this.hosts, h));
    }
    if (e.kind === 'mcp' && e.action === 'McpCall') {
      add(this.mcpServers, details['server']);
      if (typeof details['server'] === 'string' && typeof details['tool'] === 'string') {
        add(this.mcpTools, `${details['server']}/${details['tool']}`);
      }
    }
  }
}
