/**
 * The live event stream of the Control UI, as Server-Sent Events: what is stored (the newest
 * `tail` events, or everything after `after` / Last-Event-ID when resuming), then each new
 * event as it is stored. Subscribing before reading the backlog leaves no gap between the two,
 * and ids already sent are skipped, so a reconnect sees neither gaps nor repeats.
 */
import type * as http from 'node:http';
import type { AuditEvent } from '../audit/event';
import { matches, type AuditStore, type EventFilter } from '../audit/store';

const MAX_TAIL = 2000;
const KEEPALIVE_MS = 15_000;

/** The filters of `leash events`, from a query string (same names, `after` for --after). */
export function filterFrom(params: URLSearchParams): EventFilter {
  const text = (name: string): string | undefined => params.get(name) || undefined;
  const after = Number(params.get('after') ?? 0);
  if (!Number.isInteger(after) || after < 0) throw new RangeError('after must be an event id');
  return {
    session: text('session'),
    principal: text('principal'),
    kind: text('kind'),
    decision: text('decision'),
    since: text('since'),
    until: text('until'),
    text: text('text'),
    afterId: after,
  };
}

export function streamEvents(
  store: AuditStore,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  params: URLSearchParams,
): void {
  const filter = filterFrom(params);
  const resume = Number(req.headers['last-event-id'] ?? 0);
  if (Number.isInteger(resume) && resume > (filter.afterId ?? 0)) filter.afterId = resume;
  const resuming = (filter.afterId ?? 0) > 0;
  const tail = Math.min(Math.max(Number(params.get('tail') ?? 500) || 0, 1), MAX_TAIL);

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');

  let lastId = filter.afterId ?? 0;
  const send = (e: AuditEvent): void => {
    lastId = e.id;
    res.write(`id: ${e.id}\nevent: audit\ndata: ${JSON.stringify(e)}\n\n`);
  };
  const buffered: AuditEvent[] = [];
  let replaying = true;
  const onEvent = (e: AuditEvent): void => {
    if (!matches(e, filter)) return;
    if (replaying) buffered.push(e);
    else if (e.id > lastId) send(e);
  };
  store.live.on('event', onEvent);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const stop = (): void => {
    store.live.off('event', onEvent);
    clearInterval(keepalive);
  };
  req.on('close', stop);
  res.on('error', stop);

  const backlog = resuming ? store.query(filter) : newest(store, filter, tail);
  for (const e of backlog) send(e);
  replaying = false;
  for (const e of buffered) onEvent(e);
  res.write(`event: ready\ndata: ${JSON.stringify({ lastId })}\n\n`);
}

/** The last `n` matching events, oldest first (one indexed query, newest first in SQL). */
function newest(store: AuditStore, filter: EventFilter, n: number): AuditEvent[] {
  return store.query({ ...filter, limit: n, newest: true });
}
