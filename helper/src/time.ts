/** RFC 3339 timestamps with nanoseconds, from a monotonic clock anchored once to the wall clock. */

const anchorNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowRfc3339Nano(): string {
  const ns = anchorNs + process.hrtime.bigint();
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}
