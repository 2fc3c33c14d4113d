import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXAMPLE_SESSION, explain, parseRequest, RequestError } from '..';

const POLICY = `
@id("exec-any") permit (principal, action == Leash::Action::"Exec", resource);
@id("no-force") forbid (principal, action == Leash::Action::"Exec", resource)
  when { context.argv.contains("--force") };
@id("gh") @inject_header("Authorization: Bearer \${secret:GH}")
permit (principal, action == Leash::Action::"HttpRequest",
  resource == Leash::Host::"api.github.com");
@id("fs") permit (principal, action == Leash::Action::"McpCall", resource in Leash::McpServer::"fs");
`;

const judge = (request: unknown) =>
  explain(POLICY, 'p.cedar', parseRequest(request), EXAMPLE_SESSION);

describe('requests for HttpRequest and McpCall', () => {
  it('read a host with an optional port, and default the method, path and arguments', () => {
    assert.deepEqual(parseRequest({ principal: 'a', action: 'HttpRequest', resource: 'x.io' }), {
      principal: 'a',
      action: 'HttpRequest',
      host: 'x.io',
      port: 443,
      method: 'GET',
      path: '/',
    });
    const call = {
      principal: 'a',
      action: 'McpCall',
      resource: 'fs/a/b',
      context: { arguments: { p: 1 } },
    };
    assert.deepEqual(parseRequest(call), {
      principal: 'a',
      action: 'McpCall',
      server: 'fs',
      tool: 'a/b',
      arguments: '{"p":1}',
    });
  });

  it('read an IPv6 host in brackets, and judge it without them', () => {
    const request = parseRequest({
      principal: 'a',
      action: 'HttpRequest',
      resource: '[fd00::1]:80',
    });
    assert.deepEqual(
      [request.action === 'HttpRequest' && request.host, request.action],
      ['fd00::1', 'HttpRequest'],
    );
    const text = `@id("v6") permit (principal, action == Leash::Action::"HttpRequest",
      resource == Leash::Host::"fd00::1");`;
    const e = explain(text, 'p.cedar', request, EXAMPLE_SESSION);
    assert.deepEqual(
      [e.decision, e.agree, e.request],
      ['allow', true, 'a HttpRequest GET [fd00::1]:80/'],
    );
  });

  it('refuse hosts that are not canonical, lower-case methods and tools without a server', () => {
    for (const [action, resource, context] of [
      ['HttpRequest', 'https://x.io/', {}],
      ['HttpRequest', 'X.io', {}],
      ['HttpRequest', 'x.io:99999', {}],
      ['HttpRequest', 'x.io', { method: 'get' }],
      ['McpCall', 'create_issue', {}],
      ['McpCall', '/tool', {}],
    ] as const) {
      assert.throws(
        () => parseRequest({ principal: 'a', action, resource, context }),
        RequestError,
      );
    }
  });
});

describe('explain for Exec, HttpRequest and McpCall', () => {
  it('names the forbid that denies an execution by its arguments', () => {
    const e = judge({
      principal: 'shell',
      action: 'Exec',
      resource: '/usr/bin/git',
      context: { argv: ['push', '--force'] },
    });
    assert.equal(e.decision, 'deny');
    assert.equal(e.agree, true);
    assert.deepEqual(e.fix, {
      kind: 'forbid',
      forbids: [{ id: 'no-force', line: 3, column: 1, builtin: false }],
    });
  });

  it('allows by the permits that match, as Cedar does', () => {
    const http = judge({ principal: 'shell', action: 'HttpRequest', resource: 'api.github.com' });
    assert.deepEqual([http.decision, http.policies, http.agree], ['allow', ['gh'], true]);
    const mcp = judge({ principal: 'shell', action: 'McpCall', resource: 'fs/read_file' });
    assert.deepEqual([mcp.decision, mcp.policies, mcp.agree], ['allow', ['fs'], true]);
  });

  it('offers a checked permit for a default deny of an HTTP request and an MCP call', () => {
    const http = judge({ principal: 'shell', action: 'HttpRequest', resource: 'x.io:8080' });
    assert.equal(http.fix?.kind, 'permit');
    assert.ok(http.fix?.kind === 'permit' && http.fix.verified);
    assert.match(
      http.fix?.kind === 'permit' ? http.fix.policy : '',
      /resource == Leash::Host::"x\.io"\n\)\nwhen \{ resource\.port == 8080 \};/,
    );
    const mcp = judge({ principal: 'shell', action: 'McpCall', resource: 'github/delete' });
    assert.ok(mcp.fix?.kind === 'permit' && mcp.fix.verified);
    assert.match(mcp.fix.policy, /resource == Leash::McpTool::"github\/delete"/);
  });
});
