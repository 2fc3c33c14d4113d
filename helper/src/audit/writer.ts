/** Batches audit writes off the hot path, and aggregates allowed file opens into counts. */
import type { AuditStore } from './store';
import type { NewEvent } from './event';
import type { Logger } from '../log';

const FLUSH_MS = 200;
/** A queue this long is written at once: under a burst of guard events, Node may run
 *  thousands of event callbacks before the flush timer gets its turn. */
const FLUSH_AT = 5_000;
const MAX_QUEUE = 50_000;

export class AuditWriter {
  private queue: NewEvent[] = [];
  private readonly allowed = new Map<string, NewEvent>();
  private dropped = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: AuditStore,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Queues an event; when the queue is full the event is counted and a loss event says so. */
  push(e: NewEvent): void {
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped++;
      return;
    }
    this.queue.push(e);
    if (this.queue.length >= FLUSH_AT) this.flush();
  }

  /** Adds one to the count of an allowed open of this (session, principal, path, access). */
  countAllowed(key: string, e: NewEvent): void {
    const seen = this.allowed.get(key);
    if (seen) seen.count += e.count;
    else this.allowed.set(key, { ...e });
  }

  flush(): void {
    const batch = this.queue;
    this.queue = [];
    for (const e of this.allowed.values()) batch.push(e);
    this.allowed.clear();
    if (this.dropped > 0) {
      batch.push({
        session: '',
        principal: '',
        kind: 'loss',
        action: 'Loss',
        resource: 'audit-queue',
        decision: '',
        policies: [],
        count: this.dropped,
        pid: 0,
        comm: '',
        details: { where: 'audit queue full' },
      });
      this.dropped = 0;
    }
    if (batch.length === 0) return;
    try {
      this.store.append(batch);
    } catch (err) {
      this.log.error('audit write failed', { error: (err as Error).message, lost: batch.length });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
