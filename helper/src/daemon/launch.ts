/**
 * The handshake with leash-launch: it prints `leash-launch ready <pid> <fd>` before anything
 * else and waits for one byte on stdin. This reads that line off the command's output and
 * forwards everything after it unchanged.
 */
import type { Readable } from 'node:stream';

export interface Launched {
  /** The launcher's pid inside the sandbox. */
  pid: number;
  /** Its seccomp listener's descriptor number. */
  fd: number;
}

const READY = /^leash-launch ready (\d+) (\d+)\r?\n/;
/** Longer than any ready line: a stream that starts otherwise is not the launcher speaking. */
const READY_MAX = 64;

/**
 * Resolves with the launcher's report, or with undefined when the output ends or starts with
 * something else (the launcher failed; what it printed is forwarded).
 */
export function readLaunchLine(
  output: Readable,
  forward: (chunk: Buffer) => void,
): Promise<Launched | undefined> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    let settled = false;
    const settle = (launched: Launched | undefined, rest: Buffer): void => {
      settled = true;
      resolve(launched);
      if (rest.length > 0) forward(rest);
    };
    output.on('data', (chunk: Buffer) => {
      if (settled) {
        forward(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const m = READY.exec(text);
      if (m) settle({ pid: Number(m[1]), fd: Number(m[2]) }, head.subarray(m[0].length));
      else if (text.includes('\n') || head.length > READY_MAX) settle(undefined, head);
    });
    output.on('end', () => {
      if (!settled) settle(undefined, head);
    });
  });
}
