/**
 * Formatting a policy text with Cedar's own formatter, refusing any result that would lose
 * content: the formatted text must hold the same policies and the same comments.
 */
import { cedar } from './cedar';
import { LineMap, type Diagnostic } from './diagnostics';
import { checkLimits } from './limits';
import { cedarDiagnostics } from './validate';

/** Cedar wraps at this width; the rest of Leash keeps to 100 columns too. */
const LINE_WIDTH = 100;
const INDENT_WIDTH = 2;

export interface FormatResult {
  ok: boolean;
  /** The formatted text, when `ok`. */
  text?: string;
  diagnostics: Diagnostic[];
}

/** The `//` comments of a Cedar text, trimmed, in order; string literals are skipped. */
export function comments(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out.push(text.slice(i + 2, stop).trim());
      i = stop;
    }
  }
  return out;
}

/** Each policy in Cedar's JSON form, in order: what formatting must not change. */
function meaning(text: string): string | null {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') return null;
  const all = [...parts.policies, ...parts.policy_templates].map((p) => {
    const json = cedar.policyToJson(p);
    return json.type === 'success' ? json.json : p;
  });
  return JSON.stringify(all);
}

export function formatPolicy(text: string, file: string): FormatResult {
  const lines = new LineMap(text);
  const limit = checkLimits(text, file, lines);
  if (limit) return { ok: false, diagnostics: [limit] };
  const answer = cedar.formatPolicies({
    policyText: text,
    lineWidth: LINE_WIDTH,
    indentWidth: INDENT_WIDTH,
  });
  if (answer.type === 'failure') {
    return {
      ok: false,
      diagnostics: cedarDiagnostics(lines, file, answer.errors, 'error', 'parse'),
    };
  }

  const formatted = answer.formatted_policy;
  const before = comments(text).join('\n');
  const after = comments(formatted).join('\n');
  if (meaning(formatted) !== meaning(text) || before !== after) {
    const d = lines.diagnostic(
      file,
      { start: 0, end: 0 },
      'error',
      'format-changes-content',
      "Cedar's formatter would change this policy's meaning or drop a comment, so it was not " +
        'formatted; the file is unchanged. Please report the file.',
    );
    return { ok: false, diagnostics: [d] };
  }
  return { ok: true, text: formatted, diagnostics: [] };
}
