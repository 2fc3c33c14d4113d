/**
 * A test client: starts the built server as its own process over stdio and speaks LSP to it,
 * as an editor would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';

const SERVER = join(__dirname, 'server.js');

export interface Client {
  connection: ProtocolConnection;
  /** A temporary workspace folder with a few files in it. */
  workspace: string;
  /** Opens a file of the workspace in the editor (a Cedar policy unless `languageId` says). */
  open(name: string, text: string, languageId?: string): string;
  /** Tells the server a workspace file changed on disk (1 created, 2 changed, 3 deleted). */
  fileChanged(name: string, type: 1 | 2 | 3): void;
  change(uri: string, version: number, text: string): void;
  /** The next diagnostics published for `uri` (for `version` when given). */
  diagnostics(uri: string, version?: number, timeoutMs?: number): Promise<PublishDiagnosticsParams>;
  stop(): Promise<void>;
}

/**
 * `env` is added to the server's environment. Unless it names one, the server is pointed at a
 * leashd socket that does not exist, so no test talks to a leashd it did not start.
 */
export async function startServer(
  files: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<Client> {
  const workspace = mkdtempSync(join(tmpdir(), 'leash-ls-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(workspace, path)), { recursive: true });
    writeFileSync(join(workspace, path), text);
  }

  const child: ChildProcess = spawn(process.execPath, [SERVER, '--stdio'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LEASH_SOCKET: join(workspace, 'no-leashd.sock'), ...env },
  });
  if (!child.stdout || !child.stdin) throw new Error('the server has no stdio pipes');
  const connection = createProtocolConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  const published: PublishDiagnosticsParams[] = [];
  const waiting: Array<() => void> = [];
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    published.push(params);
    waiting.splice(0).forEach((wake) => wake());
  });
  connection.listen();

  const rootUri = pathToFileURL(workspace).href;
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: 'workspace' }],
    capabilities: {},
  });
  await connection.sendNotification(InitializedNotification.type, {});

  return {
    connection,
    workspace,
    open(name, text, languageId = 'cedar') {
      const uri = pathToFileURL(join(workspace, name)).href;
      void connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri, languageId, version: 1, text },
      });
      return uri;
    },
    fileChanged(name, type) {
      const uri = pathToFileURL(join(workspace, name)).href;
      void connection.sendNotification('workspace/didChangeWatchedFiles', {
        changes: [{ uri, type }],
      });
    },
    change(uri, version, text) {
      void connection.sendNotification('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [{ text }],
      });
    },
    async diagnostics(uri, version, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = published.findIndex(
          (p) => p.uri === uri && (version === undefined || p.version === version),
        );
        if (found >= 0) return published.splice(found, 1)[0] as PublishDiagnosticsParams;
        if (Date.now() > deadline)
          throw new Error(`no diagnostics for ${uri} within ${timeoutMs} ms`);
        await new Promise<void>((wake) => {
          waiting.push(wake);
          setTimeout(wake, 500);
        });
      }
    },
    async stop() {
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
      connection.dispose();
      await new Promise<void>((done) => {
        if (child.exitCode !== null) done();
        else child.once('exit', () => done());
      });
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}
