import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createProtocolConnection,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';

const BIN = join(__dirname, '..', 'bin', 'leash-language-server');

async function handshake(connection: ProtocolConnection): Promise<void> {
  connection.listen();
  const result = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
  });
  assert.equal(result.serverInfo?.name, 'leash-language-server');
  assert.ok(result.capabilities.hoverProvider);
  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
}

describe('transports of the bin script', () => {
  it('serves LSP over stdio', async () => {
    const child = spawn(BIN, ['--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((done) => child.once('exit', done));
    const connection = createProtocolConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    await handshake(connection);
    assert.equal(await exited, 0);
    connection.dispose();
  });

  it('serves LSP over node IPC, as the extension starts it', async () => {
    const child = fork(BIN, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = new Promise((done) => child.once('exit', done));
    const connection = createProtocolConnection(
      new IPCMessageReader(child),
      new IPCMessageWriter(child),
    );
    await handshake(connection);
    assert.equal(await exited, 0);
    connection.dispose();
  });
});
