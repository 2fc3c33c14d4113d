/** The audit event, as stored and as exported (docs/audit.md is the reference). */

export type EventKind = 'file' | 'exec' | 'net' | 'http' | 'mcp' | 'policy' | 'session' | 'loss';
export type EventDecision = 'allow' | 'deny' | 'would-deny' | '';

export interface AuditEvent {
  id: number;
  time: string;
  session: string;
  principal: string;
  kind: EventKind;
  action: string;
  machine: string;
  resource: string;
  decision: EventDecision;
  policies: string[];
  count: number;
  pid: number;
  comm: string;
  /** Kind-specific fields: path and access for files, ip and port for connects, ... */
  details: Record<string, unknown>;
}

export type NewEvent = Omit<AuditEvent, 'id' | 'time' | 'machine'> & { time?: string };

/** One event as a flat JSON object (the export format): details are merged in. */
export function toJson(e: AuditEvent): Record<string, unknown> {
  const { details, ...rest } = e;
  return { ...details, ...rest };
}
