/**
 * The Leash language server for Cedar policies. The transport comes from the command line:
 * `--stdio` for any editor, `--node-ipc` when the VS Code extension starts it.
 */
import {
  CodeActionKind,
  createConnection,
  DidChangeWatchedFilesNotification,
  ProposedFeatures,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { CodeActions } from './code-actions';
import { Completer, TRIGGER_CHARACTERS } from './completion';
import { Definitions } from './definition';
import { DiagnosticsPublisher } from './diagnostics';
import { PolicyDocuments } from './documents';
import { ExampleRunner, policyUriOf } from './examples';
import { format } from './format';
import { PolicyFromEvent } from './policy-from-event';
import { PolicyFromEventRequest } from './protocol';
import { Hoverer } from './hover';
import { emptySchema, loadSchema, type SchemaInfo } from './schema';
import { symbols } from './symbols';

const connection = createConnection(ProposedFeatures.all);
const docs = new PolicyDocuments();
const schema = schemaOrNothing();
const examples = new ExampleRunner(docs);
const diagnostics = new DiagnosticsPublisher(connection, docs, examples);
const completer = new Completer(schema, () => docs.workspaceRoot);
const hoverer = new Hoverer(schema, docs);
const definitions = new Definitions(schema);
const fromEvent = new PolicyFromEvent(docs);
const codeActions = new CodeActions(schema);

/** A broken schema must not stop the server: diagnostics still say what the core finds. */
function schemaOrNothing(): SchemaInfo {
  try {
    return loadSchema();
  } catch (err) {
    connection.console.error(`${String(err)}; completion, hover and definition are off.`);
    return emptySchema();
  }
}

let watchFiles = false;

connection.onInitialize((params): InitializeResult => {
  docs.setWorkspace(params.workspaceFolders?.[0]?.uri ?? params.rootUri);
  watchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: TRIGGER_CHARACTERS },
      hoverProvider: true,
      documentFormattingProvider: true,
      documentSymbolProvider: true,
      definitionProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: 'leash-language-server', version: '0.1.0' },
  };
});

/** A changed examples file re-checks its open policy; a policy re-checks itself. */
function recheck(uri: string): void {
  const doc = docs.get(policyUriOf(uri) ?? uri);
  if (doc) diagnostics.schedule(doc);
}

connection.onInitialized(() => {
  if (!watchFiles) return;
  // Examples edited outside the editor (or by `git checkout`) re-check their policy.
  void connection.client.register(DidChangeWatchedFilesNotification.type, {
    watchers: [{ globPattern: '**/*.examples.json' }],
  });
});

docs.documents.onDidOpen((e) => recheck(e.document.uri));
docs.documents.onDidChangeContent((e) => recheck(e.document.uri));
docs.documents.onDidClose((e) => {
  if (docs.isPolicy(e.document)) diagnostics.clear(e.document.uri);
  else recheck(e.document.uri);
});
connection.onDidChangeWatchedFiles((e) => e.changes.forEach((c) => recheck(c.uri)));

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
connection.onDocumentFormatting(withDoc((doc) => format(doc, connection)));
connection.onDocumentSymbol(withDoc((doc) => symbols(doc)));
connection.onDefinition(withDoc((doc, params) => definitions.definition(doc, params)));
connection.onCodeAction(withDoc((doc, params) => codeActions.actions(doc, params)));
connection.onRequest(PolicyFromEventRequest, (params) => fromEvent.handle(params));

docs.documents.listen(connection);
connection.listen();
