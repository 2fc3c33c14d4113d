import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

const POLICY =
  '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n' +
  '@id("etc")\n' +
  'permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/etc");\n' +
  '@id("shadow")\n' +
  'forbid (\n' +
  '  principal,\n' +
  '  action == Leash::Action::"ReadFile",\n' +
  '  resource == Leash::File::"/etc/shadow"\n' +
  ');\n';

const request = (resource: string): object => ({
  principal: 'shell',
  action: 'ReadFile',
  resource,
});

/** One example a line: the second one starts on line 3, column 3. */
const EXAMPLES = [
  '[',
  `  ${JSON.stringify({ request: request('/etc/hosts'), expect: 'allow', policies: ['etc'] })},`,
  `  ${JSON.stringify({ request: request('/etc/shadow'), expect: 'allow' })}`,
  ']',
].join('\n');

/** The problems examples cause, without the lint warnings the policy also gets. */
async function exampleProblems(
  client: Client,
  uri: string,
  version?: number,
): Promise<Diagnostic[]> {
  const { diagnostics } = await client.diagnostics(uri, version);
  return diagnostics.filter((d) => d.severity === 1);
}

describe('policy examples', () => {
  let client: Client;
  before(async () => {
    client = await startServer({
      'team.examples.json': EXAMPLES,
      'passing.examples.json': JSON.stringify([
        { request: request('/etc/hosts'), expect: 'allow' },
      ]),
      'broken.examples.json': '[{"request": {}, "expect": "allow"}]',
    });
  });
  after(async () => {
    await client.stop();
  });

  it('shows a failing example as an error on the policy that decided it', async () => {
    const uri = client.open('team.cedar', POLICY);
    const diagnostics = await exampleProblems(client, uri);
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    const [d] = diagnostics;
    assert.equal(d?.code, 'example-fails');
    assert.equal(d?.severity, 1);
    assert.equal(d?.range.start.line, 3, 'on the @id of the forbid that denied it');
    assert.match(d?.message ?? '', /example 2 .*shell ReadFile \/etc\/shadow.*Cedar decides deny/);
    const related = d?.relatedInformation?.[0]?.location;
    assert.match(related?.uri ?? '', /team\.examples\.json$/);
    assert.deepEqual(related?.range.start, { line: 2, character: 2 });
  });

  it('shows nothing when every example passes', async () => {
    const uri = client.open('passing.cedar', POLICY);
    assert.deepEqual(await exampleProblems(client, uri), []);
  });

  it('re-runs the examples when the policy changes', async () => {
    const uri = client.open('team.cedar', POLICY);
    await client.diagnostics(uri, 1);
    const fixed = POLICY.replace('== Leash::File::"/etc/shadow"', '== Leash::File::"/etc/gshadow"');
    client.change(uri, 2, fixed);
    assert.deepEqual(await exampleProblems(client, uri, 2), []);
  });

  it('reports a malformed examples file on the policy, pointing into the file', async () => {
    const uri = client.open('broken.cedar', POLICY);
    const [d] = await exampleProblems(client, uri);
    assert.equal(d?.code, 'examples-format');
    assert.match(d?.message ?? '', /example 1/);
    assert.match(d?.relatedInformation?.[0]?.location.uri ?? '', /broken\.examples\.json$/);
  });
});
