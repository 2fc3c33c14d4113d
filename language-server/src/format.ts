/**
 * Formatting through the policy core's `formatPolicy`, which refuses text that would break
 * Cedar's formatter and any result that would change a policy or drop a comment. A document
 * is formatted whole; a range formats each policy it touches, whole, and nothing else, so a
 * broken policy elsewhere in the file does not stop it. Cedar's formatter takes about 2 ms a
 * policy here, so one request formats at most MAX_FORMATTED policies, and says so beyond.
 */
import { formatPolicy } from '@leash/policies';
import {
  MessageType,
  ShowMessageNotification,
  type Connection,
  type Range,
  type TextEdit,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { MAX_CHECKED_CHARS } from './documents';
import { policies, type PolicySource } from './policy-text';

/** About a second of Cedar's formatter on this machine. */
export const MAX_FORMATTED = 400;

export function format(doc: TextDocument, connection: Connection): TextEdit[] {
  const text = doc.getText();
  if (text.length > MAX_CHECKED_CHARS) return tooMany(doc, 'this file', connection);
  const count = policies(text).length;
  if (count > MAX_FORMATTED) return tooMany(doc, `${count} policies`, connection);
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
  if (doc.getText().length > MAX_CHECKED_CHARS) return tooMany(doc, 'this file', connection);
  const from = doc.offsetAt(range.start);
  const to = doc.offsetAt(range.end);
  const touched = policies(doc.getText()).filter(
    (p) =>
      (p.range.start < to && from < p.range.end) ||
      (from === to && p.range.start <= from && from <= p.range.end),
  );
  if (touched.length > MAX_FORMATTED) {
    return tooMany(doc, `${touched.length} policies`, connection);
  }
  return touched.flatMap((policy) => formatOne(doc, policy, connection));
}

function formatOne(doc: TextDocument, policy: PolicySource, connection: Connection): TextEdit[] {
  const answer = formatPolicy(policy.text, doc.uri);
  if (!answer.ok || answer.text === undefined) {
    const where = doc.positionAt(policy.range.start);
    const why = answer.diagnostics.map((d) => d.message).join('; ');
    connection.console.info(`not formatting the policy at line ${where.line + 1}: ${why}`);
    return [];
  }
  // The policy ends at its `;`: what follows it, the newline included, is not its own.
  const newText = answer.text.replace(/\n+$/, '');
  if (newText === policy.text) return [];
  const start = doc.positionAt(policy.range.start);
  return [{ range: { start, end: doc.positionAt(policy.range.end) }, newText }];
}

function tooMany(doc: TextDocument, what: string, connection: Connection): TextEdit[] {
  void connection.sendNotification(ShowMessageNotification.type, {
    type: MessageType.Warning,
    message:
      `Leash: not formatting ${what} at once (Cedar's formatter would hold up the editor); ` +
      `select at most ${MAX_FORMATTED} policies and format the selection, or run ` +
      '`leash policy fmt --write` on the file.',
  });
  connection.console.info(`not formatting ${doc.uri}: ${what} is too much at once`);
  return [];
}
