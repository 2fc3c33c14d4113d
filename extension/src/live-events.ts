/**
 * Keeps the event model fed: the running sessions, then every new decision from leashd's live
 * stream, resumed after the last id seen when the stream breaks. While leashd cannot be reached
 * the helper state says so and the stream retries quietly (the user is told once, by a command).
 */
import type * as grpc from '@grpc/grpc-js';
import * as vscode from 'vscode';
import { EventModel } from './event-model';
import type { Helper } from './helper';
import { log } from './log';
import type { AuditEvent, SessionInfo } from './wire';

const RETRY_MS = 3000;
const REFRESH_MS = 5000;

export type HelperState = 'connecting' | 'running' | 'unreachable';

export class LiveEvents implements vscode.Disposable {
  readonly model = new EventModel();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  state: HelperState = 'connecting';
  private stream?: grpc.ClientReadableStream<AuditEvent>;
  private timer?: NodeJS.Timeout;
  private disposed = false;
  /** Denials after this count as "since start" in the status bar. */
  private readonly startedAt = new Date().toISOString();
  private since = this.startedAt;
  private lastListed = '';

  constructor(private readonly helper: Helper) {}

  start(): void {
    void this.connect();
  }

  /** Lists the running sessions again; redraws when they changed, or always with `force`. */
  async refresh(force = false): Promise<void> {
    const client = this.helper.current();
    try {
      const reply = await client.call<{ sessions: SessionInfo[] }>('listSessions', {}, 5000);
      const seen = JSON.stringify(reply.sessions);
      const same = seen === this.lastListed && this.state === 'running';
      this.lastListed = seen;
      this.model.setRunning(reply.sessions);
      this.setState('running');
      // Nothing new: keep the view as it is (a redraw under the mouse hides inline actions).
      if (same && !force) return;
    } catch (err) {
      log.debug(`listing sessions: ${(err as Error).message}`);
      this.lastListed = '';
      this.model.setRunning([]);
      this.setState('unreachable');
    }
    this.changed.fire();
  }

  private async connect(): Promise<void> {
    if (this.disposed) return;
    const client = this.helper.current();
    if (!(await client.ready(1000))) {
      this.setState('unreachable');
      this.retry();
      return;
    }
    await this.refresh();
    if (this.state !== 'running') return this.retry();
    // The first time, history starts with the oldest running session; later, after the last id.
    const started = this.model
      .list()
      .filter((s) => s.running && s.info?.started)
      .map((s) => s.info?.started as string)
      .sort()[0];
    if (started && started < this.since) this.since = started;
    const query = this.model.afterId
      ? { follow: true, afterId: this.model.afterId }
      : { follow: true, since: this.since };
    const stream = client.queryEvents(query);
    this.stream = stream;
    // Redraw at most every 100 ms; a new session, an ended one or a denial (its count in the
    // session's line) also lists the sessions again.
    let pending = false;
    let relist = false;
    stream.on('data', (e: AuditEvent) => {
      const live = e.time >= this.startedAt;
      if (!this.model.add(e, live)) return;
      relist ||=
        e.kind === 'session' || e.decision === 'deny' || !this.model.get(e.session)?.running;
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        if (relist) void this.refresh(true);
        else this.changed.fire();
        relist = false;
      }, 100);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (this.disposed) return;
      log.warn(`event stream: ${client.error(err).message}; retrying`);
      this.setState('unreachable');
      this.retry();
    });
    stream.on('end', () => this.retry());
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  private retry(): void {
    this.stopStream();
    if (!this.disposed) this.timer = setTimeout(() => void this.connect(), RETRY_MS);
  }

  private setState(state: HelperState): void {
    if (this.state === state) return;
    this.state = state;
    this.changed.fire();
  }

  private stopStream(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const s = this.stream;
    this.stream = undefined;
    s?.removeAllListeners();
    // The cancellation itself arrives as an error.
    s?.on('error', (err: Error) => log.debug(`event stream closed: ${err.message}`));
    s?.cancel();
  }

  dispose(): void {
    this.disposed = true;
    this.stopStream();
    this.changed.dispose();
  }
}
