import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_POLICY_PATH } from '@leash/policies';
import { HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

describe('hover', () => {
  let client: Client;
  let uri: string;
  const text = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
  before(async () => {
    client = await startServer();
    uri = client.open('policy.cedar', text);
  });
  after(async () => {
    await client.stop();
  });

  /** The hover text at the first occurrence of `needle`, `shift` characters into it. */
  async function hoverAt(needle: string, shift = 1): Promise<string | null> {
    const offset = text.indexOf(needle);
    assert.ok(offset >= 0, `${needle} is in the policy`);
    const lines = text.slice(0, offset + shift).split('\n');
    const position = { line: lines.length - 1, character: (lines.at(-1) ?? '').length };
    const hover = await client.connection.sendRequest(HoverRequest.type, {
      textDocument: { uri },
      position,
    });
    return hover ? (hover.contents as MarkupContent).value : null;
  }

  it('says what an action means', async () => {
    const value = await hoverAt('"WriteFile"', 3);
    assert.match(value ?? '', /Leash::Action::"WriteFile"/);
    assert.match(value ?? '', /Opening a file for writing/);
  });

  it('shows what a forbid compiles to, on its effect keyword', async () => {
    const value = await hoverAt('forbid (principal, action == Leash::Action::"WriteFile"');
    assert.match(value ?? '', /workspace-protected/);
    assert.match(
      value ?? '',
      new RegExp(`kernel: forbid write under ${client.workspace}/\\.git/hooks`),
    );
  });

  it('shows what a permit compiles to, on its @id', async () => {
    const value = await hoverAt('@id("connect-loopback")', 6);
    assert.match(value ?? '', /kernel: permit connect to 127\.0\.0\.0\/8/);
  });

  it('shows what an Exec permit compiles to', async () => {
    const value = await hoverAt('@id("exec-any")', 6);
    assert.match(value ?? '', /kernel: permit exec any program/);
  });

  it('shows the attributes of an entity type', async () => {
    const value = await hoverAt('Dir::"@workspace"');
    assert.match(value ?? '', /Leash::Dir/);
  });

  it('says nothing on a comment', async () => {
    assert.equal(await hoverAt('// The default Leash policy', 4), null);
  });
});

describe('hover on a policy: which policies shadow it, or it shadows', () => {
  const inDir = (dir: string) => `resource in Leash::Dir::"${dir}"`;
  const read = (dirs: string) =>
    `(principal, action == Leash::Action::"ReadFile", resource) when { ${dirs} }`;
  const text = [
    '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);',
    `@id("read-etc") permit ${read('resource in Leash::Dir::"/etc"')};`,
    `@id("no-etc") forbid ${read('resource in Leash::Dir::"/etc"')};`,
    `@id("read-two") permit ${read(`${inDir('/a')} || ${inDir('/b')}`)};`,
    `@id("no-a") forbid ${read('resource in Leash::Dir::"/a"')};`,
    `@id("no-b") forbid ${read('resource in Leash::Dir::"/b"')};`,
    `@id("read-tmp") permit ${read('resource in Leash::Dir::"/tmp"')};`,
  ].join('\n');
  let client: Client;
  let uri: string;
  before(async () => {
    client = await startServer();
    uri = client.open('shadows.cedar', text);
    // Shadowing is read from the file's last check.
    await client.diagnostics(uri);
  });
  after(async () => {
    await client.stop();
  });

  async function hoverOn(id: string): Promise<string> {
    const line = text.split('\n').findIndex((l) => l.startsWith(`@id("${id}")`));
    const hover = await client.connection.sendRequest(HoverRequest.type, {
      textDocument: { uri },
      position: { line, character: 2 },
    });
    return hover ? (hover.contents as MarkupContent).value : '';
  }

  it('a permit a forbid fully covers never takes effect, and says which forbid', async () => {
    const value = await hoverOn('read-etc');
    assert.match(value, /kernel: permit read under \/etc/);
    assert.match(value, /never takes effect: forbid `no-etc` matches every request it matches/);
  });

  it('the forbid names the permit it leaves without effect', async () => {
    assert.match(await hoverOn('no-etc'), /leaves permit `read-etc` without effect/);
  });

  it('a permit covered only by several forbids together names each of them', async () => {
    assert.match(await hoverOn('read-two'), /forbids `no-a`, `no-b` together match every/);
  });

  it('a permit nothing covers says so', async () => {
    assert.match(await hoverOn('read-tmp'), /no forbid takes away everything this permit allows/);
    assert.match(await hoverOn('no-a'), /no permit is left without effect by this forbid alone/);
  });
});
