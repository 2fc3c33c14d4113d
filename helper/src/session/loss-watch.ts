/**
 * What the guards decided but could not report: decisions a kernel ring buffer had no room
 * for, and events read but dropped because JavaScript fell behind. Each guard counts them; this
 * watch turns every increase into a loss record in the audit log, so the log says how much of a
 * session it is missing instead of silently holding less.
 */
import type { AuditWriter } from '../audit/writer';
import { nowRfc3339Nano } from '../time';

/** One guard's counters. `lost`: dropped in the kernel; `dropped`: dropped in leashd. */
export interface LossSource {
  /** Which guard, and for which principal: `connect-guard/shell`. */
  name: string;
  principal: string;
  stats(): { lost?: number; dropped: number };
}

const POLL_MS = 1000;

export class LossWatch {
  private readonly seen = new Map<string, { lost: number; dropped: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly session: string,
    private readonly sources: () => LossSource[],
    private readonly audit: AuditWriter,
  ) {
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** Records what each source lost since the last poll. */
  poll(): void {
    for (const s of this.sources()) {
      const now = s.stats();
      const was = this.seen.get(s.name) ?? { lost: 0, dropped: 0 };
      const lost = (now.lost ?? 0) - was.lost;
      const dropped = now.dropped - was.dropped;
      this.seen.set(s.name, { lost: now.lost ?? 0, dropped: now.dropped });
      if (lost <= 0 && dropped <= 0) continue;
      this.audit.push({
        time: nowRfc3339Nano(),
        session: this.session,
        principal: s.principal,
        kind: 'loss',
        action: 'Loss',
        resource: s.name,
        decision: '',
        policies: [],
        count: Math.max(lost, 0) + Math.max(dropped, 0),
        pid: 0,
        comm: '',
        details: {
          where: lost > 0 ? 'kernel ring buffer full' : 'leashd fell behind',
          kernel: Math.max(lost, 0),
          leashd: Math.max(dropped, 0),
        },
      });
    }
  }

  /** A last poll, then no more; call it before the guards close. */
  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }
}
