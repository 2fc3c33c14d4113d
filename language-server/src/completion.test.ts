import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompletionRequest, type CompletionItem } from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

const ACTIONS = ['ReadFile', 'WriteFile', 'Exec', 'Connect', 'HttpRequest', 'McpCall'];

describe('completion', () => {
  let client: Client;
  before(async () => {
    client = await startServer({ 'README.md': '', 'src/main.ts': '', 'src/lib/util.ts': '' });
  });
  after(async () => {
    await client.stop();
  });

  /** Completes at the end of `text` (a one-line document) and returns the texts inserted. */
  async function complete(text: string): Promise<string[]> {
    const uri = client.open(`c${Math.random().toString(36).slice(2)}.cedar`, text);
    const items = (await client.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: { line: 0, character: text.length },
    })) as CompletionItem[];
    return items.map((i) => i.textEdit?.newText ?? i.label);
  }

  it('offers the six actions after `action == `', async () => {
    const got = await complete('@id("a") permit (principal, action == ');
    assert.deepEqual(got.sort(), ACTIONS.map((a) => `Leash::Action::"${a}"`).sort());
  });

  it('offers the actions inside an `action in [` list', async () => {
    const got = await complete('permit (principal, action in [Leash::Action::"ReadFile", ');
    assert.equal(got.length, 6);
    assert.ok(got.includes('Leash::Action::"WriteFile"'));
  });

  it('offers action names inside `Leash::Action::"`', async () => {
    const got = await complete('permit (principal, action == Leash::Action::"Wr');
    assert.deepEqual(got.sort(), [...ACTIONS].sort());
  });

  it("offers the attributes of the named actions' resource types after `resource.`", async () => {
    const files = await complete(
      'permit (principal, action == Leash::Action::"ReadFile", resource) when { resource.',
    );
    assert.deepEqual(files.sort(), ['name', 'path']);
    const endpoints = await complete(
      'permit (principal, action == Leash::Action::"Connect", resource) when { resource.',
    );
    assert.deepEqual(endpoints.sort(), ['host', 'ip', 'port']);
  });

  it('offers the context attributes of the named action after `context.`', async () => {
    const got = await complete(
      'permit (principal, action == Leash::Action::"Exec", resource) when { context.',
    );
    assert.deepEqual(got.sort(), ['args', 'argv']);
  });

  it('offers the reserved roots at the start of a `Dir::"` id', async () => {
    const got = await complete('permit (principal, action, resource in Leash::Dir::"');
    assert.deepEqual(got.sort(), ['@home', '@workspace']);
  });

  it('offers workspace entries below what is typed inside `Dir::"` and `File::"`', async () => {
    const top = await complete('permit (principal, action, resource in Leash::Dir::"@workspace/');
    assert.deepEqual(top.sort(), ['README.md', 'src']);
    const src = await complete(
      'permit (principal, action, resource == Leash::File::"@workspace/src/',
    );
    assert.deepEqual(src.sort(), ['lib', 'main.ts']);
    const absolute = await complete(
      `permit (principal, action, resource in Leash::Dir::"${client.workspace}/src/lib/`,
    );
    assert.deepEqual(absolute, ['util.ts']);
  });

  it('lists nothing outside the workspace', async () => {
    assert.deepEqual(
      await complete('permit (principal, action, resource in Leash::Dir::"/etc/'),
      [],
    );
    assert.deepEqual(
      await complete('permit (principal, action, resource in Leash::Dir::"@workspace/../'),
      [],
    );
  });

  it('offers entity types after `Leash::`', async () => {
    const got = await complete('permit (principal, action, resource is Leash::');
    for (const type of ['File', 'Dir', 'Endpoint', 'Host', 'McpTool', 'Agent']) {
      assert.ok(got.includes(type), `${type} is offered`);
    }
  });
});
