/** Go to definition: from an action or an entity type to its declaration in the schema. */
import { pathToFileURL } from 'node:url';
import type { Location, TextDocumentPositionParams } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { qualifiedBy, tokenAt } from './policy-text';
import type { Declaration, SchemaInfo } from './schema';

export class Definitions {
  constructor(private readonly schema: SchemaInfo) {}

  definition(doc: TextDocument, params: TextDocumentPositionParams): Location | null {
    const at = tokenAt(doc.getText(), doc.offsetAt(params.position));
    if (!at) return null;
    const { token, before } = at;
    if (token.kind === 'string' && qualifiedBy(before, 'Action')) {
      return this.location(this.schema.actionDeclarations.get(token.value));
    }
    if (token.kind === 'ident') return this.location(this.schema.declarations.get(token.text));
    return null;
  }

  private location(decl: Declaration | undefined): Location | null {
    if (!decl) return null;
    const start = { line: decl.line, character: decl.character };
    const end = { line: decl.line, character: decl.character + decl.name.length };
    return { uri: pathToFileURL(this.schema.path).href, range: { start, end } };
  }
}
