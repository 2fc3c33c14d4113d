/** `leash events`: the audit log, as a table for people or JSON Lines for machines. */
import * as grpc from '@grpc/grpc-js';
import type { EventMsg } from '../grpc';
import { clientError, LeashClient, waitingMetadata } from './client';

export interface EventQueryOptions {
  session?: string;
  principal?: string;
  kind?: string;
  decision?: string;
  since?: string;
  until?: string;
  text?: string;
  afterId?: string;
  limit?: number;
  follow?: boolean;
}

/** A flat event object, details merged in: the JSON Lines format of docs/audit.md. */
export function flatEvent(e: EventMsg): Record<string, unknown> {
  const details = JSON.parse(e.details || '{}') as Record<string, unknown>;
  const { details: _omit, ...rest } = e;
  return { ...details, ...rest, id: Number(e.id), count: Number(e.count) };
}

/** The export format's version; docs/audit.md and docs/audit.schema.json describe it. */
export const EXPORT_VERSION = 1;

/** One exported event: the flat event with the format version. */
export function exportEvent(e: EventMsg): Record<string, unknown> {
  return { version: EXPORT_VERSION, ...flatEvent(e) };
}

export async function streamEvents(
  client: LeashClient,
  q: EventQueryOptions,
  onEvent: (e: EventMsg) => void,
): Promise<void> {
  await client.listening();
  return new Promise((resolve, reject) => {
    const call = (
      client.raw['queryEvents'] as (
        req: object,
        metadata: grpc.Metadata,
      ) => grpc.ClientReadableStream<EventMsg>
    ).call(
      client.raw,
      {
        session: q.session ?? '',
        kind: q.kind ?? '',
        decision: q.decision ?? '',
        afterId: q.afterId ?? '0',
        limit: q.limit ?? 0,
        follow: q.follow ?? false,
      },
      waitingMetadata(),
    );
    call.on('data', onEvent);
    call.on('error', (err: grpc.ServiceError) =>
      err.code === grpc.status.CANCELLED ? resolve() : reject(clientError(err, client.socket)),
    );
    call.on('end', resolve);
  });
}

export async function fetchEvents(client: LeashClient, q: EventQueryOptions): Promise<EventMsg[]> {
  const all: EventMsg[] = [];
  await streamEvents(client, q, (e) => all.push(e));
  return all;
}

/** Formats rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

export function policyColumn(e: EventMsg): string {
  if (e.policies.length > 0) return e.policies.join(', ');
  return e.decision === 'deny' || e.decision === 'would-deny' ? 'default deny' : '';
}

export function eventRow(e: EventMsg): string[] {
  return [e.time.slice(11, 23), e.decision || '-', e.action, e.resource, policyColumn(e), e.count];
}

export const EVENT_HEADERS = ['TIME', 'DECISION', 'ACTION', 'RESOURCE', 'POLICY', 'COUNT'];
