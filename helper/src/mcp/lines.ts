/** Newline-delimited messages, as MCP's stdio transport frames them. */

/** A line longer than this ends the conversation instead of filling memory. */
export const MAX_LINE = 16 * 1024 * 1024;

/** Feeds chunks, calls `onLine` for each complete line (without its newline, CR removed). */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
      this.parts.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      if (line.trim() !== '') this.onLine(line);
    }
    if (start < chunk.length) {
      this.parts.push(chunk.subarray(start));
      this.size += chunk.length - start;
      if (this.size > MAX_LINE) {
        this.parts = [];
        this.size = 0;
        this.onTooLong();
      }
    }
  }
}
