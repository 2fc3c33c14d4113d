/** Audit events for the unit tests. */
import type { AuditEvent } from './wire';

export function event(over: Partial<AuditEvent>): AuditEvent {
  return {
    id: '1',
    time: '2026-12-04T19:00:00.000000000Z',
    session: 's1',
    principal: 'shell',
    kind: 'file',
    action: 'ReadFile',
    machine: 'm',
    resource: '/w/a.txt',
    decision: 'allow',
    policies: ['workspace-rw'],
    count: '1',
    pid: 7,
    comm: 'cat',
    details: '{"path":"/w/a.txt","access":"read"}',
    ...over,
  };
}
