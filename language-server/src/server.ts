/**
 * The Leash language server for Cedar policies. The transport comes from the command line:
 * `--stdio` for any editor, `--node-ipc` when the VS Code extension starts it.
 */
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  createConnection,
  DidChangeWatchedFilesNotification,
  ProposedFeatures,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { AuditNames } from './audit-names';
import { CodeActions } from './code-actions';
import { Completer, TRIGGER_CHARACTERS } from './completion';
import { Definitions } from './definition';
import { DiagnosticsPublisher } from './diagnostics';
import { PolicyDocuments } from './documents';
import { ExampleRunner, policyUriOf } from './examples';
import { format, formatRange } from './format';
import { PolicyFromEvent } from './policy-from-event';
import { PolicyFromEventRequest } from './protocol';
import { Hoverer } from './hover';
import { SchemaStore } from './schema-store';
import { symbols } from './symbols';

const connection = createConnection(ProposedFeatures.all);
const schemas = new SchemaStore();
const schema = schemas.info;
const docs = new PolicyDocuments(schemas);
const examples = new ExampleRunner(docs);
const diagnostics = new DiagnosticsPublisher(connection, docs, examples);
const auditNames = AuditNames.fromEnvironment();
const completer = new Completer(schema, () => docs.workspaceRoot, auditNames);
const hoverer = new Hoverer(schema, docs);
const definitions = new Definitions(schema);
const fromEvent = new PolicyFromEvent(docs);
const codeActions = new CodeActions(schema);

let watchFiles = false;

connection.onInitialize((params): InitializeResult => {
  docs.setWorkspace(params.workspaceFolders?.[0]?.uri ?? params.rootUri);
  schemas.useWorkspace(docs.workspaceRoot);
  watchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: TRIGGER_CHARACTERS },
      hoverProvider: true,
      documentFormattingProvider: true,
      documentRangeFormattingProvider: true,
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

/** The schema file's path when `uri` is the schema in use or the workspace's own. */
function schemaPathOf(uri: string): string | null {
  if (!uri.startsWith('file:') || !uri.endsWith('.cedarschema')) return null;
  const path = fileURLToPath(uri);
  const own = SchemaStore.workspaceFile(docs.workspaceRoot);
  return path === schemas.path || path === own ? path : null;
}

/** Reads the schema again (the editor's copy when given), reports it, re-checks every policy. */
function reloadSchema(path: string, text: string | null): void {
  const before = schemas.uri;
  schemas.reload(path, text);
  if (before !== schemas.uri) void connection.sendDiagnostics({ uri: before, diagnostics: [] });
  void connection.sendDiagnostics({ uri: schemas.uri, diagnostics: schemas.problems });
  docs.schemaChanged();
  docs.policies().forEach((doc) => diagnostics.schedule(doc));
}

function changed(doc: TextDocument): void {
  const schemaPath = schemaPathOf(doc.uri);
  if (schemaPath) reloadSchema(schemaPath, doc.getText());
  else recheck(doc.uri);
}

connection.onInitialized(() => {
  try {
    docs.warmUp();
  } catch (err) {
    connection.console.error(`checking the default policy at start failed: ${String(err)}`);
  }
  void auditNames.refresh().then(() => {
    const why = auditNames.problem;
    if (why) connection.console.info(`no names from the audit log for completion: ${why}`);
  });
  if (schemas.problems.length > 0) {
    void connection.sendDiagnostics({ uri: schemas.uri, diagnostics: schemas.problems });
  }
  if (!watchFiles) return;
  // Examples and the schema edited outside the editor (or by `git checkout`) re-check policies.
  void connection.client.register(DidChangeWatchedFilesNotification.type, {
    watchers: [{ globPattern: '**/*.examples.json' }, { globPattern: '**/*.cedarschema' }],
  });
});

// Opening a document is also its first change of content.
docs.documents.onDidChangeContent((e) => changed(e.document));
docs.documents.onDidClose((e) => {
  const schemaPath = schemaPathOf(e.document.uri);
  if (schemaPath) reloadSchema(schemaPath, null);
  else if (docs.isPolicy(e.document)) diagnostics.clear(e.document.uri);
  else recheck(e.document.uri);
});
connection.onDidChangeWatchedFiles((e) => {
  for (const change of e.changes) {
    const schemaPath = schemaPathOf(change.uri);
    // The editor's copy of an open schema wins over the file on disk.
    if (schemaPath && !docs.get(change.uri)) reloadSchema(schemaPath, null);
    else if (!schemaPath) recheck(change.uri);
  }
});

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
connection.onDocumentRangeFormatting(
  withDoc((doc, params) => formatRange(doc, params.range, connection)),
);
connection.onDocumentSymbol(withDoc((doc) => symbols(doc)));
connection.onDefinition(withDoc((doc, params) => definitions.definition(doc, params)));
connection.onCodeAction(withDoc((doc, params) => codeActions.actions(doc, params)));
connection.onRequest(PolicyFromEventRequest, (params) => fromEvent.handle(params));

connection.onShutdown(() => auditNames.close());

docs.documents.listen(connection);
connection.listen();
