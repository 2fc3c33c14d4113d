/**
 * Optional export of audit events as OpenTelemetry logs over OTLP/HTTP, so a cluster's collector
 * receives every decision. Events are taken after they are committed to the store, batched by
 * the SDK and sent off the hot path; the store stays the record of truth.
 */
import { SeverityNumber, type LogAttributes } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { Logger as LeashLogger } from '../log';
import { VERSION } from '../config';
import type { AuditEvent } from './event';
import type { AuditStore } from './store';

export interface OtlpSettings {
  /** The collector's OTLP/HTTP logs endpoint, e.g. `http://127.0.0.1:4318/v1/logs`. */
  endpoint: string;
  /** Milliseconds between batches (the SDK's scheduled delay). */
  intervalMs?: number;
}

/** Checks the endpoint setting: an http(s) URL, or an error that names the setting. */
export function parseOtlpEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`setting otlpEndpoint must be an http(s) URL, not ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`setting otlpEndpoint must use http or https, not ${url.protocol}`);
  }
  return url;
}

/** RFC 3339 with nanoseconds to the SDK's [seconds, nanoseconds]. */
function hrTime(rfc3339: string): [number, number] {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) {
    const ms = Date.parse(rfc3339);
    return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
  }
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000;
  return [seconds, Number((m[2] ?? '').padEnd(9, '0'))];
}

/** The event's fields as log attributes, under the `leash.` prefix; details as JSON text. */
export function attributesOf(e: AuditEvent): LogAttributes {
  return {
    'leash.id': e.id,
    'leash.session': e.session,
    'leash.principal': e.principal,
    'leash.kind': e.kind,
    'leash.action': e.action,
    'leash.resource': e.resource,
    'leash.decision': e.decision,
    'leash.policies': e.policies,
    'leash.count': e.count,
    'leash.pid': e.pid,
    'leash.comm': e.comm,
    'leash.details': JSON.stringify(e.details),
  };
}

export class OtlpExport {
  private readonly provider: LoggerProvider;
  private readonly onEvent: (e: AuditEvent) => void;

  constructor(
    private readonly store: AuditStore,
    settings: OtlpSettings,
    log: LeashLogger,
    machine: string,
  ) {
    const url = parseOtlpEndpoint(settings.endpoint).toString();
    const exporter = new OTLPLogExporter({ url, timeoutMillis: 10_000 });
    this.provider = new LoggerProvider({
      resource: resourceFromAttributes({
        'service.name': 'leashd',
        'service.version': VERSION,
        'host.name': machine,
      }),
      processors: [
        new BatchLogRecordProcessor({
          exporter,
          scheduledDelayMillis: settings.intervalMs ?? 1000,
          maxQueueSize: 20_000,
          maxExportBatchSize: 1000,
        }),
      ],
    });
    const logger = this.provider.getLogger('leash.audit', VERSION);
    this.onEvent = (e) => {
      const denied = e.decision === 'deny';
      logger.emit({
        timestamp: hrTime(e.time),
        severityNumber: denied ? SeverityNumber.WARN : SeverityNumber.INFO,
        severityText: denied ? 'WARN' : 'INFO',
        eventName: `leash.${e.kind}`,
        body: `${e.action} ${e.resource}${e.decision ? ` ${e.decision}` : ''}`,
        attributes: attributesOf(e),
      });
    };
    store.live.on('event', this.onEvent);
    log.info('exporting audit events over OTLP', { endpoint: url });
  }

  /** Sends what is queued now (for tests and shutdown). */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  async close(): Promise<void> {
    this.store.live.off('event', this.onEvent);
    await this.provider.shutdown();
  }
}
