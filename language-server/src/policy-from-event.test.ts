import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPolicy, explain, splitPolicies, type Request } from '@leash/policies';
import { ResponseError, type TextDocumentEdit } from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { startServer, type Client } from './lsp-client';
import { PolicyFromEventRequest, type AuditEvent, type PolicyFromEventResult } from './protocol';

const POLICY =
  '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n' +
  '@id("etc")\n' +
  'permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/etc");\n' +
  '@id("secret")\n' +
  'forbid (\n' +
  '  principal,\n' +
  '  action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],\n' +
  '  resource in Leash::Dir::"/secret"\n' +
  ');\n';

const fileEvent = (path: string, access: string, decision: string): AuditEvent => ({
  id: 42,
  principal: 'shell',
  kind: 'file',
  action: access === 'read' ? 'ReadFile' : 'WriteFile',
  resource: path,
  path,
  access,
  decision,
});

describe('policy from an audit event', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  async function ask(
    name: string,
    event: AuditEvent,
    decision: 'allow' | 'deny',
  ): Promise<{ result: PolicyFromEventResult; before: string; after: string }> {
    const uri = client.open(name, POLICY);
    const result = await client.connection.sendRequest(PolicyFromEventRequest, {
      textDocument: { uri },
      event,
      decision,
    });
    const change = result.edit.documentChanges?.[0] as TextDocumentEdit;
    assert.equal(change.textDocument.uri, uri);
    const doc = TextDocument.create(uri, 'cedar', 1, POLICY);
    return { result, before: POLICY, after: TextDocument.applyEdits(doc, change.edits) };
  }

  const judge = (text: string, r: Request): string | undefined =>
    explain(text, 'p.cedar', r, {
      session: 'editor',
      workspace: client.workspace,
      home: '/home/agent',
    }).decision;

  it('appends a permit that allows exactly the denied open, with a fresh @id', async () => {
    const { result, after } = await ask(
      'allow.cedar',
      fileEvent('/srv/a.txt', 'read', 'deny'),
      'allow',
    );
    assert.deepEqual(result.ids, ['allow-readfile']);
    assert.match(
      result.text,
      /^\/\/ Allowed from audit event 42: "shell ReadFile \/srv\/a\.txt"\n/,
    );
    assert.ok(after.startsWith(POLICY));
    assert.ok(checkPolicy(after, 'p.cedar').ok);
    const read = (path: string): Request => ({ principal: 'shell', action: 'ReadFile', path });
    assert.equal(judge(POLICY, read('/srv/a.txt')), 'deny');
    assert.equal(judge(after, read('/srv/a.txt')), 'allow');
    assert.equal(judge(after, read('/srv/b.txt')), 'deny', 'nothing else is allowed');
    const other: Request = { principal: 'codex', action: 'ReadFile', path: '/srv/a.txt' };
    assert.equal(judge(after, other), 'deny', 'nor for another agent');
  });

  it('appends a forbid that denies exactly an allowed open', async () => {
    const { result, after } = await ask(
      'deny.cedar',
      fileEvent('/etc/hosts', 'read', 'allow'),
      'deny',
    );
    assert.deepEqual(result.ids, ['deny-readfile']);
    assert.match(result.text, /\nforbid \(/);
    const read = (path: string): Request => ({ principal: 'shell', action: 'ReadFile', path });
    assert.equal(judge(after, read('/etc/hosts')), 'deny');
    assert.equal(judge(after, read('/etc/passwd')), 'allow');
  });

  it('escapes a hostile path so that it adds one policy and widens nothing', async () => {
    const path = '/tmp/x"); permit (principal, action, resource);\n\u2028*';
    const { result, after } = await ask('hostile.cedar', fileEvent(path, 'read', 'deny'), 'allow');
    assert.match(result.text.split('\n')[0] ?? '', /\\u\{2028\}\*"$/, 'the comment keeps one line');
    assert.equal(splitPolicies(after).length, splitPolicies(POLICY).length + 1);
    const read = (p: string): Request => ({ principal: 'shell', action: 'ReadFile', path: p });
    assert.equal(judge(after, read(path)), 'allow');
    assert.equal(judge(after, read('/tmp/x')), 'deny');
    assert.equal(judge(after, read('/srv/other')), 'deny');
  });

  it('permits both sides of a denied read-and-write open', async () => {
    const { result, after } = await ask(
      'rw.cedar',
      fileEvent('/srv/db', 'readwrite', 'deny'),
      'allow',
    );
    assert.deepEqual(result.ids, ['allow-readfile', 'allow-writefile']);
    const open = (action: 'ReadFile' | 'WriteFile'): Request => ({
      principal: 'shell',
      action,
      path: '/srv/db',
    });
    assert.equal(judge(after, open('ReadFile')), 'allow');
    assert.equal(judge(after, open('WriteFile')), 'allow');
  });

  it('writes an IPv4-mapped address of a connect in its IPv4 form', async () => {
    const event: AuditEvent = {
      principal: 'shell',
      kind: 'net',
      action: 'Connect',
      resource: '[::ffff:10.1.2.3]:443',
      ip: '::ffff:10.1.2.3',
      port: 443,
      decision: 'deny',
    };
    const { result, after } = await ask('net.cedar', event, 'allow');
    assert.match(result.text, /ip\("10\.1\.2\.3"\) && resource\.port == 443/);
    const connect = (port: number): Request => ({
      principal: 'shell',
      action: 'Connect',
      ip: '10.1.2.3',
      port,
    });
    assert.equal(judge(after, connect(443)), 'allow');
    assert.equal(judge(after, connect(80)), 'deny');
  });

  async function refusal(event: AuditEvent, decision: 'allow' | 'deny'): Promise<ResponseError> {
    const uri = client.open(`refused-${Math.random()}.cedar`, POLICY);
    const error = await client.connection
      .sendRequest(PolicyFromEventRequest, { textDocument: { uri }, event, decision })
      .then(
        () => assert.fail('the request should have been refused'),
        (err: unknown) => err,
      );
    assert.ok(error instanceof ResponseError);
    return error;
  }

  it('refuses a permit a forbid would override, naming the forbid', async () => {
    const error = await refusal(fileEvent('/secret/key', 'read', 'deny'), 'allow');
    assert.match(error.message, /would not change the decision.*by secret/);
  });

  it('refuses when the event already gets that decision', async () => {
    const error = await refusal(fileEvent('/etc/hosts', 'read', 'allow'), 'allow');
    assert.match(error.message, /already allowed/);
  });

  it('refuses events no policy decides, saying which are', async () => {
    const start: AuditEvent = {
      principal: 'shell',
      kind: 'session',
      action: 'Start',
      resource: 's1',
    };
    const error = await refusal(start, 'deny');
    assert.match(error.message, /"session" Start events .*only "file", "net", "exec", "http"/);
  });

  it('denies one program: a forbid on its path that flips the exec and no other', async () => {
    const exec: AuditEvent = {
      principal: 'shell',
      kind: 'exec',
      action: 'Exec',
      resource: '/usr/bin/curl',
      argv: ['-s', 'http://example.test/'],
      decision: 'allow',
    };
    const { result, after } = await ask('exec-deny.cedar', exec, 'deny');
    assert.match(
      result.text,
      /forbid \(\n {2}principal == Leash::Agent::"shell",\n {2}action == Leash::Action::"Exec",\n {2}resource == Leash::File::"\/usr\/bin\/curl"\n\);/,
    );
    const request = (path: string): Request => ({
      principal: 'shell',
      action: 'Exec',
      path,
      argv: ['-s'],
    });
    assert.equal(judge(after, request('/usr/bin/curl')), 'deny');
    assert.equal(judge(after, request('/usr/bin/wget')), 'allow');
  });

  it('allows one HTTP host and port from a denied request', async () => {
    const http: AuditEvent = {
      principal: 'shell',
      kind: 'http',
      action: 'HttpRequest',
      resource: 'api.example.test',
      host: 'api.example.test',
      port: 8443,
      method: 'POST',
      path: '/v1/things?x=1',
      decision: 'deny',
    };
    const { result, after } = await ask('http-allow.cedar', http, 'allow');
    assert.deepEqual(result.ids, ['allow-httprequest']);
    const request = (host: string, port: number): Request => ({
      principal: 'shell',
      action: 'HttpRequest',
      host,
      port,
      method: 'GET',
      path: '/',
    });
    assert.equal(judge(after, request('api.example.test', 8443)), 'allow');
    assert.equal(judge(after, request('api.example.test', 443)), 'deny');
    assert.equal(judge(after, request('other.example.test', 8443)), 'deny');
  });

  it('allows one MCP tool from a denied call, and no other tool of its server', async () => {
    const mcp: AuditEvent = {
      principal: 'claude',
      kind: 'mcp',
      action: 'McpCall',
      resource: 'files/read_file',
      server: 'files',
      tool: 'read_file',
      arguments: '{"path":"/w/a"}',
      decision: 'deny',
    };
    const { after } = await ask('mcp-allow.cedar', mcp, 'allow');
    const request = (tool: string): Request => ({
      principal: 'claude',
      action: 'McpCall',
      server: 'files',
      tool,
      arguments: '{}',
    });
    assert.equal(judge(after, request('read_file')), 'allow');
    assert.equal(judge(after, request('write_file')), 'deny');
  });
});
