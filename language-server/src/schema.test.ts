/**
 * The schema over LSP: a workspace with its own `policies/leash.cedarschema` (a checkout of
 * Leash) is checked against it; a broken or missing schema is reported on the schema file,
 * and every open policy is checked again when the schema changes.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { SCHEMA_PATH } from '@leash/policies';
import { CompletionRequest, type CompletionList } from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';
import { SCHEMA_FILE } from './schema-store';

const INSTALLED = readFileSync(SCHEMA_PATH, 'utf8');
const POLICY = [
  '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);',
  '@id("data") permit (principal, action == Leash::Action::"ReadFile", resource)',
  '  when { resource.path like "/data/*" };',
].join('\n');

describe('the schema', () => {
  let client: Client;
  let policy: string;
  let schemaUri: string;
  const write = (text: string): void => writeFileSync(join(client.workspace, SCHEMA_FILE), text);
  const errors = async (uri: string) =>
    (await client.diagnostics(uri)).diagnostics.filter((d) => d.severity === 1);

  before(async () => {
    client = await startServer({ [SCHEMA_FILE]: INSTALLED });
    schemaUri = pathToFileURL(join(client.workspace, SCHEMA_FILE)).href;
    policy = client.open('p.cedar', POLICY);
    assert.deepEqual(await errors(policy), []);
  });
  after(async () => {
    await client.stop();
  });

  it('an edit on disk that drops an attribute makes the open policy fail validation', async () => {
    write(INSTALLED.replace('    path: String,\n', '    where: String,\n'));
    client.fileChanged(SCHEMA_FILE, 2);
    assert.deepEqual(await errors(schemaUri), []);
    const found = await errors(policy);
    assert.equal(found.length, 1);
    assert.equal(found[0]?.code, 'validation');
    assert.match(found[0]?.message ?? '', /attribute `path` on entity type `Leash::File`/);
    assert.deepEqual(found[0]?.range, {
      start: { line: 2, character: 9 },
      end: { line: 2, character: 22 },
    });

    const list = (await client.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri: policy },
      position: { line: 2, character: 18 },
    })) as CompletionList | null;
    const labels = (Array.isArray(list) ? list : (list?.items ?? [])).map((i) => i.label);
    assert.ok(labels.includes('where'), `completion offers the new attribute: ${labels}`);
  });

  it('a schema that does not parse is an error on its file, at the broken text', async () => {
    write(INSTALLED.replace('  entity Endpoint {', '  entity Endpoint {{'));
    client.fileChanged(SCHEMA_FILE, 2);
    const found = await errors(schemaUri);
    assert.ok(found.length > 0);
    assert.equal(found[0]?.code, 'schema-parse');
    const line = INSTALLED.split('\n').findIndex((l) => l.includes('entity Endpoint {'));
    assert.equal(found[0]?.range.start.line, line, JSON.stringify(found[0]));
    assert.match(found[0]?.message ?? '', /checked against the schema Leash is installed with/);
    assert.deepEqual(await errors(policy), [], 'the installed schema stands in');
  });

  it('a deleted schema is reported on its file', async () => {
    rmSync(join(client.workspace, SCHEMA_FILE));
    client.fileChanged(SCHEMA_FILE, 3);
    const found = await errors(schemaUri);
    assert.equal(found[0]?.code, 'schema-missing');
    assert.match(found[0]?.message ?? '', /does not exist/);
    assert.deepEqual(await errors(policy), []);
  });

  it('the editor copy of the schema counts as typed, before it is saved', async () => {
    const broken = INSTALLED.replace('action ReadFile, WriteFile', 'action ReadFile WriteFile');
    const uri = client.open(SCHEMA_FILE, broken, 'cedarschema');
    assert.equal(uri, schemaUri);
    assert.equal((await errors(schemaUri))[0]?.code, 'schema-parse');
    await errors(policy);

    const renamed = INSTALLED.replace('action ReadFile, WriteFile', 'action ReadFiles, WriteFile');
    client.change(uri, 2, renamed);
    assert.deepEqual(await errors(schemaUri), []);
    const found = await errors(policy);
    assert.match(found[0]?.message ?? '', /unrecognized action `Leash::Action::"ReadFile"`/);
  });
});
