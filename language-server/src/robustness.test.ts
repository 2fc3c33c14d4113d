import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CompletionRequest,
  DocumentSymbolRequest,
  HoverRequest,
} from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

describe('bad input', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  it('reports binary junk as a problem and keeps answering', async () => {
    const junk = String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const uri = client.open('junk.cedar', junk);
    const { diagnostics } = await client.diagnostics(uri);
    assert.ok(diagnostics.length > 0);
    const position = { line: 0, character: 3 };
    await client.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
    await client.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position,
    });
    await client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } });
  });

  it('answers on a half-typed policy with an open string', async () => {
    const text = '@id("half") permit (principal, action == Leash::Action::"Re';
    const uri = client.open('half.cedar', text);
    const items = await client.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: { line: 0, character: text.length },
    });
    assert.ok(Array.isArray(items) && items.length === 6);
    const { diagnostics } = await client.diagnostics(uri);
    assert.equal(diagnostics[0]?.code, 'parse');
  });
});
