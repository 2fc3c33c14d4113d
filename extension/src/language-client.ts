/**
 * The Leash language server for `.cedar` policies, bundled next to the extension and started
 * over node IPC. Schema files (`.cedarschema`) are sent to it too: an unsaved schema edit
 * re-checks every open policy, and a schema that does not parse is reported on its file.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
} from 'vscode-languageclient/node';
import { log } from './log';

/** Built by build.mjs from language-server/dist/server.js. */
const SERVER = path.join(__dirname, 'server', 'server.js');

export function startLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const run = { module: SERVER, transport: TransportKind.ipc };
  const options: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'cedar' },
      { scheme: 'untitled', language: 'cedar' },
      { scheme: 'file', language: 'cedarschema' },
    ],
    outputChannel: vscode.window.createOutputChannel('Leash Language Server'),
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.examples.json') },
  };
  const client = new LanguageClient('leash', 'Leash Cedar', { run, debug: run }, options);
  client
    .start()
    .catch((err: Error) => log.error(`the language server did not start: ${err.message}`));
  context.subscriptions.push(client);
  return client;
}
