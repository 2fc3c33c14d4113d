import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_POLICY_PATH } from '@leash/policies';
import { startServer, type Client } from './lsp-client';

const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';

describe('diagnostics', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  it('reports a parse error at its line and column', async () => {
    const uri = client.open(
      'broken.cedar',
      EXEC + '@id("b") permit (principal, action ==, resource);\n',
    );
    const { diagnostics } = await client.diagnostics(uri);
    assert.equal(diagnostics.length, 1);
    const [d] = diagnostics;
    assert.equal(d?.source, 'leash');
    assert.equal(d?.code, 'parse');
    assert.deepEqual(d?.range, {
      start: { line: 1, character: 37 },
      end: { line: 1, character: 38 },
    });
    assert.match(d?.codeDescription?.href ?? '', /^file:.*\/docs\/policy\.md#parse$/);
  });

  it('reports a pattern the compiler cannot enforce exactly, on the pattern', async () => {
    const text =
      EXEC +
      '@id("odd")\n' +
      'forbid (principal, action == Leash::Action::"ReadFile", resource)\n' +
      'when { resource.path like "/a*b" };\n';
    const uri = client.open('pattern.cedar', text);
    const { diagnostics } = await client.diagnostics(uri);
    assert.equal(diagnostics.length, 1);
    const [d] = diagnostics;
    assert.equal(d?.code, 'unsupported-pattern');
    assert.equal(d?.severity, 1);
    const line = text.split('\n')[3] ?? '';
    assert.deepEqual(d?.range, {
      start: { line: 3, character: line.indexOf('resource.path') },
      end: { line: 3, character: line.indexOf('"/a*b"') + '"/a*b"'.length },
    });
  });

  it('reports a misspelled action from schema validation', async () => {
    const uri = client.open(
      'typo.cedar',
      EXEC + '@id("r") permit (principal, action == Leash::Action::"ReadFle", resource);\n',
    );
    const { diagnostics } = await client.diagnostics(uri);
    const error = diagnostics.find((d) => d.severity === 1);
    assert.equal(error?.code, 'validation');
    assert.equal(error?.range.start.line, 1);
    assert.match(error?.message ?? '', /ReadFle/);
  });

  it('reports nothing on the default policy', async () => {
    const uri = client.open('default.cedar', readFileSync(DEFAULT_POLICY_PATH, 'utf8'));
    const { diagnostics } = await client.diagnostics(uri);
    assert.deepEqual(diagnostics, []);
  });

  it('re-checks after an edit, once the typing pauses', async () => {
    const uri = client.open('edited.cedar', EXEC);
    assert.deepEqual((await client.diagnostics(uri, 1)).diagnostics, []);
    client.change(uri, 2, EXEC + '@id("x") permit (');
    client.change(uri, 3, EXEC + '@id("x") permit (principal, action, resource) when { 1 };');
    const { diagnostics } = await client.diagnostics(uri, 3);
    assert.ok(diagnostics.length > 0, 'the last version is checked');
    assert.equal(diagnostics[0]?.range.start.line, 1);
  });

  it('counts columns in UTF-16 code units after non-ASCII text', async () => {
    const text = EXEC + '@id("é😀") permit (principal, action ==, resource);\n';
    const uri = client.open('unicode.cedar', text);
    const [d] = (await client.diagnostics(uri)).diagnostics;
    const line = text.split('\n')[1] ?? '';
    assert.equal(d?.range.start.character, line.indexOf(', resource'));
  });

  it('reports a lint finding as a warning with its code and a link to its section', async () => {
    const text =
      EXEC +
      '@id("usr") @allways("yes")\n' +
      'permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/usr");\n';
    const uri = client.open('lint.cedar', text);
    const { diagnostics } = await client.diagnostics(uri);
    const d = diagnostics.find((x) => x.code === 'L005');
    assert.ok(d, `an L005 warning among ${JSON.stringify(diagnostics.map((x) => x.code))}`);
    assert.equal(d.severity, 2);
    assert.match(d.message, /@allways/);
    const line = text.split('\n')[1] ?? '';
    assert.equal(d.range.start.line, 1);
    assert.equal(d.range.start.character, line.indexOf('@allways'));
    assert.match(d.codeDescription?.href ?? '', /\/docs\/policy\.md#L005$/);
    assert.ok(
      diagnostics.every((x) => x.severity !== 1),
      'warnings only: the policy checks',
    );
  });
});
