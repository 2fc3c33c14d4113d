/** Document formatting through Cedar's own formatter. */
import type { Connection, DocumentFormattingParams, TextEdit } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { formatPolicies } from './cedar';

/** Cedar's formatter wraps at this width; it matches the 100 columns of the rest of Leash. */
const LINE_WIDTH = 100;

export function format(
  doc: TextDocument,
  params: DocumentFormattingParams,
  connection: Connection,
): TextEdit[] {
  const text = doc.getText();
  const answer = formatPolicies({
    policyText: text,
    lineWidth: LINE_WIDTH,
    indentWidth: params.options.tabSize,
  });
  if (answer.type === 'failure') {
    // The parse errors are already on the document as diagnostics; leave the text alone.
    const why = answer.errors.map((e) => e.message).join('; ');
    connection.console.info(`not formatting ${doc.uri}: it does not parse (${why})`);
    return [];
  }
  if (answer.formatted_policy === text) return [];
  const end = doc.positionAt(text.length);
  return [{ range: { start: { line: 0, character: 0 }, end }, newText: answer.formatted_policy }];
}
