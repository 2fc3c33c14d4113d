import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPolicy } from '@leash/policies';
import { CodeActionRequest, type CodeAction } from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { startServer, type Client } from './lsp-client';

const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';
const READ = 'action == Leash::Action::"ReadFile"';

describe('quick fixes', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  let files = 0;
  /** Opens `text`, asks for fixes of its diagnostic with `code`, applies the one offered. */
  async function fixed(text: string, code: string): Promise<{ action: CodeAction; text: string }> {
    const uri = client.open(`fix-${++files}.cedar`, text);
    const { diagnostics } = await client.diagnostics(uri);
    const diagnostic = diagnostics.find((d) => d.code === code);
    assert.ok(diagnostic, `a ${code} diagnostic among ${JSON.stringify(diagnostics)}`);
    const actions = (await client.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    })) as CodeAction[];
    assert.equal(actions.length, 1, JSON.stringify(actions));
    const action = actions[0] as CodeAction;
    assert.equal(action.kind, 'quickfix');
    const edits = action.edit?.changes?.[uri] ?? [];
    const doc = TextDocument.create(uri, 'cedar', 1, text);
    return { action, text: TextDocument.applyEdits(doc, edits) };
  }

  const checks = (text: string): void => {
    const errors = checkPolicy(text, 'fixed.cedar').diagnostics.filter(
      (d) => d.severity === 'error',
    );
    assert.deepEqual(errors, [], text);
  };

  it('adds a fresh @id to a policy without one', async () => {
    const policy = `permit (principal, ${READ}, resource);\n`;
    const { action, text } = await fixed(EXEC + '@id("policy-1") ' + policy + policy, 'missing-id');
    assert.equal(action.title, 'Add @id("policy-2")');
    assert.ok(text.endsWith(`@id("policy-2")\n${policy}`));
    checks(text);
  });

  it('renames a duplicate @id', async () => {
    const policy = `@id("exec") permit (principal, ${READ}, resource);\n`;
    const { text } = await fixed(EXEC + policy, 'duplicate-id');
    assert.ok(text.endsWith(`@id("exec-2") permit (principal, ${READ}, resource);\n`));
    checks(text);
  });

  it('normalises a Dir id with a trailing slash', async () => {
    const dir = 'Leash::Dir::"@workspace/src/"';
    const policy = `@id("d") permit (principal, ${READ}, resource in ${dir});\n`;
    const { text } = await fixed(EXEC + policy, 'path-not-normal');
    assert.ok(text.includes('Leash::Dir::"@workspace/src")'));
    checks(text);
  });

  it('normalises a path with ".." in a condition', async () => {
    const when = 'when { resource.path == "/a/../b//c" }';
    const policy = `@id("p") permit (principal, ${READ}, resource) ${when};\n`;
    const { action, text } = await fixed(EXEC + policy, 'path-not-normal');
    assert.equal(action.title, 'Write "/b/c"');
    assert.ok(text.includes('resource.path == "/b/c"'));
    checks(text);
  });

  it('writes an IPv4-mapped range in its IPv4 form', async () => {
    const policy =
      '@id("n") permit (principal, action == Leash::Action::"Connect", resource) ' +
      'when { resource.ip.isInRange(ip("::ffff:a00:0/104")) };\n';
    const { text } = await fixed(EXEC + policy, 'ipv4-mapped');
    assert.ok(text.includes('ip("10.0.0.0/8")'));
    checks(text);
  });

  it('corrects a misspelt annotation', async () => {
    const scope = `principal, ${READ}, resource in Leash::Dir::"/x"`;
    const policy = `@id("f") @allways("") forbid (${scope});\n`;
    const { text } = await fixed(EXEC + policy, 'L005');
    assert.ok(text.includes('@always("")'));
    assert.ok(checkPolicy(text, 'f.cedar').diagnostics.every((d) => d.code !== 'L005'));
  });

  it('corrects a misspelt action to the nearest one in the schema', async () => {
    const policy = '@id("r") permit (principal, action == Leash::Action::"ReadFle", resource);\n';
    const { action, text } = await fixed(EXEC + policy, 'validation');
    assert.equal(action.title, 'Change to "ReadFile"');
    checks(text);
  });

  it('corrects a misspelt entity type', async () => {
    const policy = `@id("t") permit (principal, ${READ}, resource is Leash::Fiel);\n`;
    const { text } = await fixed(EXEC + policy, 'validation');
    assert.ok(text.includes('resource is Leash::File)'));
    checks(text);
  });

  it('offers nothing where no fix is obvious', async () => {
    const uri = client.open(
      'nofix.cedar',
      EXEC + '@id("w") permit (principal, action ==, resource);',
    );
    const [diagnostic] = (await client.diagnostics(uri)).diagnostics;
    assert.ok(diagnostic);
    const actions = await client.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    });
    assert.deepEqual(actions, []);
  });
});
