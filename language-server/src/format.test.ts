import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DocumentFormattingRequest, type TextEdit } from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { startServer, type Client } from './lsp-client';

describe('formatting', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  async function format(uri: string): Promise<TextEdit[]> {
    const edits = await client.connection.sendRequest(DocumentFormattingRequest.type, {
      textDocument: { uri },
      options: { tabSize: 2, insertSpaces: true },
    });
    return edits ?? [];
  }

  it('returns edits that produce Cedar-formatted text, keeping comments', async () => {
    const text =
      '// runs anything\n@id("exec")   permit(principal,action==Leash::Action::"Exec",resource);';
    const uri = client.open('messy.cedar', text);
    const edits = await format(uri);
    const formatted = TextDocument.applyEdits(TextDocument.create(uri, 'cedar', 1, text), edits);
    assert.equal(
      formatted,
      '// runs anything\n' +
        '@id("exec")\n' +
        'permit (\n' +
        '  principal,\n' +
        '  action == Leash::Action::"Exec",\n' +
        '  resource\n' +
        ');\n',
    );
  });

  it('returns no edits for text that is already formatted', async () => {
    const text = '@id("any")\npermit (principal, action, resource);\n';
    assert.deepEqual(await format(client.open('tidy.cedar', text)), []);
  });

  it('leaves text that does not parse alone', async () => {
    assert.deepEqual(await format(client.open('broken.cedar', 'permit (principal,')), []);
  });

  it('leaves text nested too deep for Cedar alone, and still formats afterwards', async () => {
    const nested = `${'('.repeat(500)}true${')'.repeat(500)}`;
    const deep = `@id("deep") permit (principal, action, resource) when { ${nested} };`;
    assert.deepEqual(await format(client.open('deep.cedar', deep)), []);
    const messy = '@id("any")   permit(principal,action,resource);';
    const edits = await format(client.open('after-deep.cedar', messy));
    assert.equal(edits[0]?.newText, '@id("any")\npermit (principal, action, resource);\n');
  });
});
