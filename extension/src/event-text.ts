/**
 * How an audit event reads in the sidebar and its tooltip. Every string from an event (paths,
 * argv, hosts, tool names) comes from the sandbox and is shown as plain text: these functions
 * return strings for `TreeItem.label`, `description` and `tooltip`, never Markdown or HTML.
 */
import type { AuditEvent } from './wire';
import type { PolicyFromEventParams } from '@leash/language-server/dist/protocol';

const VERDICT: Record<string, string> = {
  allow: 'allowed',
  deny: 'denied',
  'would-deny': 'would be denied',
};

export function eventLabel(e: AuditEvent): string {
  const count = Number(e.count) > 1 ? ` ×${e.count}` : '';
  return `${e.action || e.kind} ${e.resource}${count}`;
}

/** The time of day, local, to the second. */
export function eventDescription(e: AuditEvent): string {
  const t = new Date(e.time);
  if (Number.isNaN(t.getTime())) return e.time;
  return t.toLocaleTimeString(undefined, { hour12: false });
}

export function decidingPolicies(e: AuditEvent): string {
  if (e.policies.length > 0) return e.policies.join(', ');
  return e.decision === 'allow' ? '(none named)' : 'default deny (no policy permits it)';
}

export function eventTooltip(e: AuditEvent): string {
  const lines = [
    `${e.action || e.kind} ${e.resource}: ${VERDICT[e.decision] ?? e.decision}`,
    `deciding policy: ${decidingPolicies(e)}`,
    `principal: ${e.principal}    session: ${e.session}`,
  ];
  if (e.comm || e.pid) lines.push(`process: ${e.comm} (pid ${e.pid})`);
  const details = parseDetails(e);
  if (Array.isArray(details.argv)) lines.push(`argv: ${details.argv.map(String).join(' ')}`);
  lines.push(`time: ${e.time}    event ${e.id}`);
  return lines.join('\n');
}

export function parseDetails(e: AuditEvent): Record<string, unknown> {
  if (!e.details) return {};
  try {
    const parsed: unknown = JSON.parse(e.details);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch (err) {
    throw new Error(`event ${e.id} has details that are not JSON: ${(err as Error).message}`);
  }
}

/**
 * The event as the language server's `leash/policyFromEvent` takes it. A change that is not an
 * open (rename, unlink, …) names in `resource` the path that was refused, so that path is the one
 * a policy must name.
 */
export function lspEvent(e: AuditEvent): PolicyFromEventParams['event'] {
  const d = parseDetails(e);
  const id = Number(e.id);
  const event: PolicyFromEventParams['event'] = {
    principal: e.principal,
    kind: e.kind,
    action: e.action,
    resource: e.resource,
    decision: e.decision,
  };
  if (Number.isSafeInteger(id)) event.id = id;
  if (e.kind === 'file') {
    if (typeof d.op === 'string') event.access = 'write';
    else {
      if (typeof d.path === 'string') event.path = d.path;
      if (typeof d.access === 'string') event.access = d.access;
    }
  }
  if (e.kind === 'net') {
    if (typeof d.ip === 'string') event.ip = d.ip;
    if (typeof d.port === 'number') event.port = d.port;
  }
  return event;
}
