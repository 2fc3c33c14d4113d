import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DocumentFormattingRequest,
  DocumentRangeFormattingRequest,
  type Range,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
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

  async function formatRange(uri: string, range: Range): Promise<TextEdit[]> {
    const edits = await client.connection.sendRequest(DocumentRangeFormattingRequest.type, {
      textDocument: { uri },
      range,
      options: { tabSize: 2, insertSpaces: true },
    });
    return edits ?? [];
  }

  const MESSY = [
    '@id("a")   permit(principal,action,resource);  // stays as typed',
    '// about b',
    '@id("b")   permit(principal,',
    '   action==Leash::Action::"Exec",resource);',
    '@id("c")   forbid(principal,action,resource);',
    '@id("broken") permit (principal action, resource);',
  ].join('\n');

  it('formats the policies a range touches, whole, and nothing else', async () => {
    const uri = client.open('range.cedar', MESSY);
    // From inside b's first line to inside its second: b alone.
    const range = { start: { line: 2, character: 14 }, end: { line: 3, character: 5 } };
    const edits = await formatRange(uri, range);
    const formatted = TextDocument.applyEdits(TextDocument.create(uri, 'cedar', 1, MESSY), edits);
    assert.equal(
      formatted,
      [
        '@id("a")   permit(principal,action,resource);  // stays as typed',
        '// about b',
        '@id("b")',
        'permit (',
        '  principal,',
        '  action == Leash::Action::"Exec",',
        '  resource',
        ');',
        '@id("c")   forbid(principal,action,resource);',
        '@id("broken") permit (principal action, resource);',
      ].join('\n'),
    );
  });

  it('formats every policy a range touches, and skips one that does not parse', async () => {
    const uri = client.open('range-all.cedar', MESSY);
    const range = { start: { line: 0, character: 0 }, end: { line: 5, character: 10 } };
    const edits = await formatRange(uri, range);
    assert.deepEqual(
      edits.map((e) => e.range.start.line),
      [0, 2, 4],
    );
    assert.equal(edits[0]?.newText, '@id("a")\npermit (principal, action, resource);');
    assert.equal(edits[2]?.newText, '@id("c")\nforbid (principal, action, resource);');
  });

  it('offers nothing for a range over a comment or over tidy policies', async () => {
    const uri = client.open('range-none.cedar', MESSY);
    const comment = { start: { line: 1, character: 0 }, end: { line: 1, character: 10 } };
    assert.deepEqual(await formatRange(uri, comment), []);
    const tidy = client.open(
      'range-tidy.cedar',
      '@id("any")\npermit (principal, action, resource);\n',
    );
    const all = { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } };
    assert.deepEqual(await formatRange(tidy, all), []);
  });
});
