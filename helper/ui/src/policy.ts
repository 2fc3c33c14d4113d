/** The selected session's policy: shown in a text area, edited, and applied through leashd. */
import type { ApiClient } from './api';
import { byId, clear, el, showError } from './dom';
import type { ApplyReply, PolicyView, SessionView } from './types';

export class PolicyEditor {
  private session?: string;
  private loaded?: PolicyView;
  private readonly text = byId<HTMLTextAreaElement>('policy-text');

  constructor(private readonly api: ApiClient) {
    byId('apply').addEventListener('click', () => void this.apply());
    byId('revert').addEventListener('click', () => this.show());
  }

  /** Loads a session's policy, unless it is already the one being edited. */
  async open(s: SessionView | undefined): Promise<void> {
    if (s?.name === this.session) return;
    this.session = s?.name;
    this.loaded = undefined;
    clear(byId('diagnostics'));
    byId('apply-status').textContent = '';
    if (!s) return;
    await this.load();
  }

  private async load(): Promise<void> {
    if (!this.session) return;
    try {
      this.loaded = await this.api.get<PolicyView>(
        `/api/sessions/${encodeURIComponent(this.session)}/policy`,
      );
      this.show();
    } catch (err) {
      showError(`the policy of ${this.session}: ${(err as Error).message}`);
    }
  }

  private show(): void {
    this.text.value = this.loaded?.text ?? '';
    byId('policy-origin').textContent = this.loaded ? `from ${this.loaded.origin}` : '';
    clear(byId('diagnostics'));
  }

  private async apply(): Promise<void> {
    const name = this.session;
    if (!name) return;
    const status = byId('apply-status');
    const list = byId('diagnostics');
    status.textContent = 'checking…';
    clear(list);
    try {
      const r = await this.api.post<ApplyReply>(
        `/api/sessions/${encodeURIComponent(name)}/policy`,
        { text: this.text.value },
      );
      if (r.applied) {
        status.textContent = `applied (${(r.newHash ?? '').slice(0, 12)})`;
        await this.load();
      } else {
        status.textContent = 'not applied; the running policy stays';
        for (const d of r.diagnostics) list.append(el('li', d));
      }
    } catch (err) {
      status.textContent = '';
      showError(`applying the policy of ${name}: ${(err as Error).message}`);
    }
  }
}
