import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SCHEMA_PATH } from '@leash/policies';
import { DefinitionRequest, type Location } from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

const TEXT =
  '@id("c")\n' +
  'permit (principal, action == Leash::Action::"Connect", resource is Leash::Endpoint);\n';

describe('go to definition', () => {
  let client: Client;
  let uri: string;
  const schemaLines = readFileSync(SCHEMA_PATH, 'utf8').split('\n');
  before(async () => {
    client = await startServer();
    uri = client.open('def.cedar', TEXT);
  });
  after(async () => {
    await client.stop();
  });

  async function definitionAt(needle: string, shift: number): Promise<Location | null> {
    const character = (TEXT.split('\n')[1] ?? '').indexOf(needle) + shift;
    return (await client.connection.sendRequest(DefinitionRequest.type, {
      textDocument: { uri },
      position: { line: 1, character },
    })) as Location | null;
  }

  function declared(location: Location | null): string {
    assert.ok(location, 'a definition is found');
    assert.equal(fileURLToPath(location.uri), SCHEMA_PATH);
    const line = schemaLines[location.range.start.line] ?? '';
    return line.slice(location.range.start.character, location.range.end.character);
  }

  it('jumps from an action to its declaration in the schema', async () => {
    const location = await definitionAt('"Connect"', 2);
    assert.equal(declared(location), 'Connect');
    assert.match(schemaLines[location?.range.start.line ?? 0] ?? '', /^\s*action Connect\b/);
  });

  it('jumps from an entity type to its declaration in the schema', async () => {
    const location = await definitionAt('Endpoint', 1);
    assert.equal(declared(location), 'Endpoint');
    assert.match(schemaLines[location?.range.start.line ?? 0] ?? '', /^\s*entity Endpoint\b/);
  });

  it('finds nothing for a keyword', async () => {
    assert.equal(await definitionAt('permit', 1), null);
  });
});
