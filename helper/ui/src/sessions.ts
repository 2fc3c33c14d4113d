/** The running sessions, the selected one's mode switch, and the session filter's choices. */
import type { ApiClient } from './api';
import { byId, clear, el, showError } from './dom';
import type { SessionView } from './types';

export class SessionList {
  private readonly body = byId('sessions').querySelector('tbody') as HTMLTableSectionElement;
  private sessions: SessionView[] = [];
  selected?: string;

  constructor(
    private readonly api: ApiClient,
    private readonly onSelect: (s: SessionView | undefined) => void,
  ) {
    byId<HTMLSelectElement>('mode').addEventListener('change', () => void this.switchMode());
  }

  async refresh(): Promise<void> {
    const r = await this.api.get<{ sessions: SessionView[] }>('/api/sessions');
    this.sessions = r.sessions;
    this.render();
    this.updateFilterChoices();
    const current = this.sessions.find((s) => s.name === this.selected);
    if (!current) this.select(this.sessions[0]);
    else if (byId('mode-status').dataset.busy !== '1') {
      byId<HTMLSelectElement>('mode').value = current.mode;
    }
  }

  private render(): void {
    clear(this.body);
    byId('no-sessions').hidden = this.sessions.length > 0;
    for (const s of this.sessions) {
      const row = el('tr', undefined, s.name === this.selected ? 'selected' : undefined);
      row.dataset.session = s.name;
      for (const text of [s.name, s.principals.join(', '), s.mode, s.state, String(s.denials)]) {
        row.append(el('td', text));
      }
      row.addEventListener('click', () => this.select(s));
      this.body.append(row);
    }
  }

  private select(s: SessionView | undefined): void {
    this.selected = s?.name;
    byId('session-pane').hidden = !s;
    if (s) {
      byId('session-name').textContent = s.name;
      byId<HTMLSelectElement>('mode').value = s.mode;
      byId('mode-status').textContent = '';
    }
    for (const row of this.body.rows) {
      row.classList.toggle('selected', row.dataset.session === s?.name);
    }
    this.onSelect(s);
  }

  /** Keeps the session filter's options in step with the running sessions. */
  private updateFilterChoices(): void {
    const select = byId<HTMLSelectElement>('f-session');
    const have = new Set([...select.options].map((o) => o.value));
    for (const s of this.sessions) {
      if (!have.has(s.name)) select.append(new Option(s.name, s.name));
    }
  }

  private async switchMode(): Promise<void> {
    const name = this.selected;
    if (!name) return;
    const select = byId<HTMLSelectElement>('mode');
    const status = byId('mode-status');
    status.dataset.busy = '1';
    status.textContent = 'switching…';
    try {
      const s = await this.api.post<SessionView>(`/api/sessions/${encodeURIComponent(name)}/mode`, {
        mode: select.value,
      });
      status.textContent = `now in ${s.mode} mode`;
      await this.refresh();
    } catch (err) {
      status.textContent = '';
      showError(`switching ${name} to ${select.value}: ${(err as Error).message}`);
      const current = this.sessions.find((x) => x.name === name);
      if (current) select.value = current.mode;
    } finally {
      delete status.dataset.busy;
    }
  }
}
