import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_POLICY_PATH } from '@leash/policies';
import {
  DocumentSymbolRequest,
  SymbolKind,
  type DocumentSymbol,
} from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

describe('document symbols', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  it("lists the default policy's ids in order, a kind per effect", async () => {
    const text = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
    const uri = client.open('default.cedar', text);
    const symbols = (await client.connection.sendRequest(DocumentSymbolRequest.type, {
      textDocument: { uri },
    })) as DocumentSymbol[];
    const ids = [...text.matchAll(/@id\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.deepEqual(
      symbols.map((s) => s.name),
      ids,
    );
    const protectedOne = symbols.find((s) => s.name === 'workspace-protected');
    assert.equal(protectedOne?.kind, SymbolKind.Event);
    assert.equal(symbols[0]?.kind, SymbolKind.Key);
    const line = text.split('\n').findIndex((l) => l.includes('@id("workspace-protected")'));
    assert.equal(protectedOne?.selectionRange.start.line, line);
  });
});
