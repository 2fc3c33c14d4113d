/** Talking to leashd: the token, JSON calls, and the live event stream (SSE over fetch). */
import type { AuditEvent, EventFilter } from './types';

const TOKEN_KEY = 'leash-ui-token';

/**
 * The token comes in the address's fragment (never sent to a server, never in a log), is kept
 * for this tab only, and is taken out of the address bar.
 */
export function takeToken(): string {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, match[1]);
    history.replaceState(null, '', window.location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export class ApiClient {
  constructor(private readonly token: string) {}

  async get<T>(path: string): Promise<T> {
    return this.reply<T>(await fetch(path, { headers: this.headers() }));
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(path, {
      method: 'POST',
      headers: { ...this.headers(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return this.reply<T>(res);
  }

  headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}` };
  }

  private async reply<T>(res: Response): Promise<T> {
    const body = (await res.json()) as T & { error?: string };
    if (!res.ok) {
      throw new Error(
        res.status === 401
          ? 'leashd refused the token: open the address `leash ui` prints'
          : (body.error ?? `leashd answered ${res.status}`),
      );
    }
    return body;
  }
}

export interface StreamHandlers {
  event(e: AuditEvent): void;
  /** The backlog has been sent; what follows is live. */
  live(): void;
  down(why: string): void;
}

/**
 * Reads the event stream with fetch (EventSource cannot send the token) and reconnects after a
 * drop, resuming after the last id seen: no gaps, no repeats.
 */
export class EventStream {
  private abort?: AbortController;
  private lastId = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly handlers: StreamHandlers,
  ) {}

  start(filter: EventFilter): void {
    this.stop();
    this.lastId = 0;
    const abort = new AbortController();
    this.abort = abort;
    void this.run(filter, abort.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
  }

  private async run(filter: EventFilter, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.readOnce(filter, signal);
        this.handlers.down('the stream ended; reconnecting');
      } catch (err) {
        if (signal.aborted) return;
        this.handlers.down(`${(err as Error).message}; reconnecting`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  private async readOnce(filter: EventFilter, signal: AbortSignal): Promise<void> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v) params.set(k, v);
    if (this.lastId > 0) params.set('after', String(this.lastId));
    const res = await fetch(`/api/events/stream?${params.toString()}`, {
      headers: this.api.headers(),
      signal,
    });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      throw new Error(body.error ?? `the event stream answered ${res.status}`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  private dispatch(block: string): void {
    let type = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (type === 'audit') {
      const e = JSON.parse(data) as AuditEvent;
      if (e.id <= this.lastId) return;
      this.lastId = e.id;
      this.handlers.event(e);
    } else if (type === 'ready') {
      this.handlers.live();
    }
  }
}
