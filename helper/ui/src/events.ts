/** The live event table (newest first, denials marked), its filters, and one event's detail. */
import type { ApiClient } from './api';
import { byId, clear, el, showError } from './dom';
import type { AuditEvent, EventFilter, PolicyView } from './types';

const MAX_ROWS = 1000;
const BUILTIN_PREFIX = 'leash:builtin/';

export function readFilter(): EventFilter {
  return {
    session: byId<HTMLSelectElement>('f-session').value,
    decision: byId<HTMLSelectElement>('f-decision').value,
    kind: byId<HTMLSelectElement>('f-kind').value,
    text: byId<HTMLInputElement>('f-text').value.trim(),
  };
}

/** Calls `changed` whenever a filter changes (typing settles for 300 ms first). */
export function watchFilters(changed: () => void): void {
  for (const id of ['f-session', 'f-decision', 'f-kind']) {
    byId(id).addEventListener('change', changed);
  }
  let timer: number | undefined;
  byId('f-text').addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(changed, 300);
  });
}

export class EventTable {
  private readonly body = byId('events').querySelector('tbody') as HTMLTableSectionElement;
  private selected?: HTMLTableRowElement;

  constructor(private readonly api: ApiClient) {
    byId('detail-close').addEventListener('click', () => this.closeDetail());
  }

  clear(): void {
    clear(this.body);
    this.closeDetail();
  }

  add(e: AuditEvent): void {
    const row = el('tr', undefined, e.decision);
    row.dataset.id = String(e.id);
    row.dataset.decision = e.decision;
    const cells = [
      e.time.replace('T', ' ').replace(/\.(\d{3})\d*Z$/, '.$1'),
      e.session,
      e.principal,
      e.decision || '—',
      e.action,
      e.resource,
      e.policies.join(', ') || (isDecision(e) ? 'default deny' : ''),
      String(e.count),
    ];
    cells.forEach((text, i) => row.append(el('td', text, i === 5 ? 'resource' : undefined)));
    row.addEventListener('click', () => void this.showDetail(e, row));
    this.body.prepend(row);
    while (this.body.rows.length > MAX_ROWS) this.body.lastElementChild?.remove();
  }

  private closeDetail(): void {
    byId('detail').hidden = true;
    this.selected?.classList.remove('selected');
    this.selected = undefined;
  }

  private async showDetail(e: AuditEvent, row: HTMLTableRowElement): Promise<void> {
    this.selected?.classList.remove('selected');
    this.selected = row;
    row.classList.add('selected');
    byId('detail-id').textContent = `#${e.id}`;

    const fields = byId('detail-fields');
    clear(fields);
    const add = (name: string, value: unknown): void => {
      if (value === undefined || value === '') return;
      fields.append(el('dt', name), el('dd', typeof value === 'string' ? value : toText(value)));
    };
    add('time', e.time);
    add('session', e.session);
    add('principal', e.principal);
    add('kind', e.kind);
    add('action', e.action);
    add('decision', e.decision);
    add('resource', e.resource);
    add('process', `${e.comm} (pid ${e.pid})`);
    add('count', String(e.count));
    add('machine', e.machine);
    for (const [k, v] of Object.entries(e.details)) add(k, v);
    byId('detail').hidden = false;

    const box = byId('detail-policies');
    clear(box);
    if (e.policies.length === 0) {
      box.append(el('p', isDecision(e) ? 'None: no policy permits this (default deny).' : '—'));
      return;
    }
    let policy: PolicyView | undefined;
    try {
      policy = await this.api.get<PolicyView>(
        `/api/sessions/${encodeURIComponent(e.session)}/policy`,
      );
    } catch (err) {
      showError(`the policy of ${e.session}: ${(err as Error).message}`);
    }
    for (const id of e.policies) {
      box.append(el('h4', id));
      if (id.startsWith(BUILTIN_PREFIX)) {
        box.append(el('p', 'A built-in rule of Leash; no policy can lift it.', 'muted'));
      } else if (!policy) {
        box.append(el('p', 'The session is not running; its policy text is not at hand.', 'muted'));
      } else {
        const text = policy.policies[id];
        box.append(
          text === undefined
            ? el('p', 'Not in the current policy (it was changed since).', 'muted')
            : el('pre', text),
        );
      }
    }
  }
}

function isDecision(e: AuditEvent): boolean {
  return e.decision === 'deny' || e.decision === 'would-deny' || e.decision === 'allow';
}

function toText(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(' ') : JSON.stringify(value);
}
