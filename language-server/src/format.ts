/**
 * Document formatting through the policy core's `formatPolicy`, which refuses text that would
 * break Cedar's formatter and any result that would change a policy or drop a comment.
 */
import { formatPolicy } from '@leash/policies';
import type { Connection, TextEdit } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';

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
