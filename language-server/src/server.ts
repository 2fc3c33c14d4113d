/**
 * The Leash language server for Cedar policies. The transport comes from the command line:
 * `--stdio` for any editor, `--node-ipc` when the VS Code extension starts it.
 */
import {
  createConnection,
  ProposedFeatures,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { Completer, TRIGGER_CHARACTERS } from './completion';
import { Definitions } from './definition';
import { DiagnosticsPublisher } from './diagnostics';
import { PolicyDocuments } from './documents';
import { format } from './format';
import { Hoverer } from './hover';
import { emptySchema, loadSchema, type SchemaInfo } from './schema';
import { symbols } from './symbols';

const connection = createConnection(ProposedFeatures.all);
const docs = new PolicyDocuments();
const schema = schemaOrNothing();
const diagnostics = new DiagnosticsPublisher(connection, docs);
const completer = new Completer(schema, () => docs.workspaceRoot);
const hoverer = new Hoverer(schema, docs);
const definitions = new Definitions(schema);

/** A broken schema must not stop the server: diagnostics still say what the core finds. */
function schemaOrNothing(): SchemaInfo {
  try {
    return loadSchema();
  } catch (err) {
    connection.console.error(`${String(err)}; completion, hover and definition are off.`);
    return emptySchema();
  }
}

connection.onInitialize((params): InitializeResult => {
  docs.setWorkspace(params.workspaceFolders?.[0]?.uri ?? params.rootUri);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: TRIGGER_CHARACTERS },
      hoverProvider: true,
      documentFormattingProvider: true,
      documentSymbolProvider: true,
      definitionProvider: true,
    },
    serverInfo: { name: 'leash-language-server', version: '0.1.0' },
  };
});

docs.documents.onDidOpen((e) => diagnostics.schedule(e.document));
docs.documents.onDidChangeContent((e) => diagnostics.schedule(e.document));
docs.documents.onDidClose((e) => diagnostics.clear(e.document.uri));

/** Runs a handler on an open document; requests about unknown documents get no answer. */
function withDoc<P extends { textDocument: { uri: string } }, R>(
  handler: (doc: NonNullable<ReturnType<PolicyDocuments['get']>>, params: P) => R,
): (params: P) => R | null {
  return (params) => {
    const doc = docs.get(params.textDocument.uri);
    return doc ? handler(doc, params) : null;
  };
}

connection.onCompletion(withDoc((doc, params) => completer.complete(doc, params)));
connection.onHover(withDoc((doc, params) => hoverer.hover(doc, params)));
connection.onDocumentFormatting(withDoc((doc, params) => format(doc, params, connection)));
connection.onDocumentSymbol(withDoc((doc) => symbols(doc)));
connection.onDefinition(withDoc((doc, params) => definitions.definition(doc, params)));

docs.documents.listen(connection);
connection.listen();
