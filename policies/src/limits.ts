/**
 * Limits checked before any text reaches Cedar. Cedar's parser recurses on nesting, and in
 * cedar-wasm a deep enough policy overflows the WebAssembly stack, which leaves the module
 * unusable for the rest of the process. So a text nested deeper than Cedar can take is refused
 * here, with a diagnostic, before Cedar sees it; so is text that is not valid Unicode.
 */
import type { Diagnostic, LineMap } from './diagnostics';

/** Brackets inside one another. Cedar itself fails somewhere below 200; real policies use < 10. */
export const MAX_NESTING = 32;
/** Operators and list items in one policy (each deepens Cedar's parser or formatter, which
 *  fail somewhere below 2000). */
export const MAX_OPERATORS = 400;

const OPERATORS = [',', '&&', '||', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '.', '!'];
/** The characters an operator can start with, to skip the search on every other one. */
const OPERATOR_STARTS = new Set(OPERATORS.map((o) => o[0]));
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` can be encoded as UTF-8 (no unpaired surrogate). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

export function checkLimits(text: string, file: string, lines: LineMap): Diagnostic | null {
  const error = (at: number, code: string, message: string): Diagnostic =>
    lines.diagnostic(file, { start: at, end: at + 1 }, 'error', code, message);

  const bad = LONE_SURROGATE.exec(text);
  if (bad) {
    return error(
      bad.index,
      'invalid-text',
      'the text is not valid Unicode here (an unpaired UTF-16 surrogate); save the file as ' +
        'UTF-8 and retype this character.',
    );
  }

  let depth = 0;
  let operators = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (ch === '(' || ch === '[' || ch === '{') {
      if (++depth > MAX_NESTING) {
        return error(
          i,
          'too-deep',
          `brackets are nested more than ${MAX_NESTING} deep here; Leash refuses such a ` +
            'policy before parsing it. Flatten the condition, or split it into several policies.',
        );
      }
    } else if (ch === ')' || ch === ']' || ch === '}') {
      depth = Math.max(0, depth - 1);
    } else if (ch === ';' && depth === 0) {
      operators = 0;
    } else if (OPERATOR_STARTS.has(ch)) {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op && ++operators > MAX_OPERATORS) {
        return error(
          i,
          'too-large',
          `this policy has more than ${MAX_OPERATORS} operators and list items; Leash refuses ` +
            'such a policy before parsing it. Split it into several policies.',
        );
      }
      if (op) i += op.length - 1;
    }
  }
  return null;
}
