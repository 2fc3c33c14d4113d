/**
 * A stand-in for an OpenTelemetry collector: an OTLP/HTTP logs receiver on loopback that keeps
 * every log record it is sent (JSON encoding), for tests of leashd's export.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpRecord {
  body?: { stringValue?: string };
  severityText?: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}

function plain(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  return undefined;
}

function attributes(list: { key: string; value: AnyValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));
}

export class OtlpCollector {
  readonly records: OtlpRecord[] = [];
  readonly contentTypes: string[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/logs') {
        res.writeHead(404).end();
        return;
      }
      this.contentTypes.push(req.headers['content-type'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceLogs?: {
          resource?: { attributes?: { key: string; value: AnyValue }[] };
          scopeLogs?: {
            logRecords?: {
              body?: { stringValue?: string };
              severityText?: string;
              attributes?: { key: string; value: AnyValue }[];
            }[];
          }[];
        }[];
      };
      for (const rl of body.resourceLogs ?? []) {
        const resource = attributes(rl.resource?.attributes);
        for (const sl of rl.scopeLogs ?? []) {
          for (const r of sl.logRecords ?? []) {
            this.records.push({
              body: r.body,
              severityText: r.severityText,
              attributes: attributes(r.attributes),
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/logs`;
  }

  close(): void {
    this.server.close();
  }
}
