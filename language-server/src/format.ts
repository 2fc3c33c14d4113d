/**
 * Formatting through the policy core's `formatPolicy`, which refuses text that would break
 * Cedar's formatter and any result that would change a policy or drop a comment. A document
 * is formatted whole; a range formats each policy it touches, whole, and nothing else, so a
 * broken policy elsewhere in the file does not stop it.
 */
import { formatPolicy } from '@leash/policies';
import type { Connection, Range, TextEdit } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { policies } from './policy-text';

export function format(doc: TextDocument, connection: Connection): TextEdit[] {
  const text = doc.getText();
  const answer = formatPolicy(text, doc.uri);
  if (!answer.ok || answer.text === undefined) {
    // What stops formatting is already on the document as a diagnostic; leave the text alone.
    const why = answer.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('; ');
    connection.console.info(`not formatting ${doc.uri}: ${why}`);
    return [];
  }
  if (answer.text === text) return [];
  const end = doc.positionAt(text.length);
  return [{ range: { start: { line: 0, character: 0 }, end }, newText: answer.text }];
}

/** One edit per policy that `range` touches and that formatting changes. */
export function formatRange(doc: TextDocument, range: Range, connection: Connection): TextEdit[] {
  const from = doc.offsetAt(range.start);
  const to = doc.offsetAt(range.end);
  const edits: TextEdit[] = [];
  for (const policy of policies(doc.getText())) {
    const touched = policy.range.start < to && from < policy.range.end;
    const empty = from === to && policy.range.start <= from && from <= policy.range.end;
    if (!touched && !empty) continue;
    const answer = formatPolicy(policy.text, doc.uri);
    if (!answer.ok || answer.text === undefined) {
      const where = doc.positionAt(policy.range.start);
      const why = answer.diagnostics.map((d) => d.message).join('; ');
      connection.console.info(`not formatting the policy at ${where.line + 1}: ${why}`);
      continue;
    }
    // The policy ends at its `;`: what follows it, the newline included, is not its own.
    const newText = answer.text.replace(/\n+$/, '');
    if (newText === policy.text) continue;
    const start = doc.positionAt(policy.range.start);
    edits.push({ range: { start, end: doc.positionAt(policy.range.end) }, newText });
  }
  return edits;
}
