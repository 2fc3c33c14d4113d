/** Diagnostics: what the policy core reports about a policy text, with 1-based ranges. */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  /** 1-based; columns count UTF-16 code units, as editors do. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  message: string;
}

/** `file:line:column: error: message [code]`, the form compilers and editors understand. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`;
}

/** Maps character offsets of one text to 1-based lines and columns. */
export class LineMap {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
    }
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.starts[lo] ?? 0) + 1 };
  }

  /** Cedar reports UTF-8 byte offsets; this turns one into a character offset. */
  charOffset(byteOffset: number): number {
    return Buffer.from(this.text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
  }

  diagnostic(
    file: string,
    range: Range,
    severity: Severity,
    code: string,
    message: string,
  ): Diagnostic {
    const start = this.position(range.start);
    const end = this.position(Math.max(range.end, range.start));
    return {
      file,
      line: start.line,
      column: start.column,
      endLine: end.line,
      endColumn: end.column,
      severity,
      code,
      message,
    };
  }
}

/** A half-open range of character offsets into a policy text. */
export interface Range {
  start: number;
  end: number;
}
