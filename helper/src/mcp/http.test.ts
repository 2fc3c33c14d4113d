/** governMcpHttp against a real MCP server over streamable HTTP on loopback, driven the way
 *  the proxy drives it: read the request, ask, forward or answer, filter the response. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpRule, PrincipalIR } from '@leash/policies';
import type { AuditWriter } from '../audit/writer';
import type { NewEvent } from '../audit/event';
import { governMcpHttp } from './http';
import { SessionMcp } from './session-mcp';

const eq = (value: string) => ({ kind: 'equals' as const, value });
const RULES: McpRule[] = [
  {
    id: 'read',
    effect: 'permit',
    match: [
      { on: 'server', match: eq('mcp.test') },
      { on: 'tool', match: eq('read') },
    ],
  },
  { id: 'no-delete', effect: 'forbid', match: [{ on: 'tool', match: eq('delete') }] },
];

function session(rows: NewEvent[]): SessionMcp {
  const ir: PrincipalIR = {
    principal: 'claude',
    files: [],
    connects: [],
    exec: [],
    http: [],
    mcp: RULES,
  };
  const audit = { push: (e: NewEvent) => rows.push(e) } as unknown as AuditWriter;
  return new SessionMcp(
    {
      name: 's1',
      principal: 'claude',
      rules: () => ir,
      mode: () => 'enforce',
      always: () => new Set(),
      denied: () => undefined,
    },
    audit,
  );
}

/** An MCP server over streamable HTTP: answers JSON, or SSE when asked with `?sse`. */
function upstream(received: string[]): http.Server {
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      const msg = JSON.parse(body) as unknown;
      const answer = (m: { id?: unknown; method?: string }) =>
        m.id === undefined
          ? undefined
          : m.method === 'tools/list'
            ? {
                jsonrpc: '2.0',
                id: m.id,
                result: { tools: [{ name: 'read' }, { name: 'delete' }] },
              }
            : { jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: m.method }] } };
      const replies = (Array.isArray(msg) ? msg : [msg]).map(answer).filter(Boolean);
      if (replies.length === 0) {
        res.writeHead(202).end();
      } else if (req.url?.includes('sse')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const r of replies) res.write(`id: 1\nevent: message\ndata: ${JSON.stringify(r)}\n\n`);
        res.end();
      } else {
        const text = JSON.stringify(Array.isArray(msg) ? replies : replies[0]);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': text.length });
        res.end(text);
      }
    });
  });
}

describe('governMcpHttp', () => {
  const received: string[] = [];
  const server = upstream(received);
  let port = 0;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  /** What the proxy does with one request; returns what the client gets. */
  async function exchange(
    body: string,
    opts: { path?: string; headers?: http.IncomingHttpHeaders; rows?: NewEvent[] } = {},
  ): Promise<{ status: number; type: string; text: string }> {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...opts.headers,
    };
    const outcome = governMcpHttp(
      { host: 'mcp.test', method: 'POST', headers, body: Buffer.from(body) },
      session(opts.rows ?? []),
    );
    if (outcome.kind === 'answer') {
      const type = String(outcome.headers['content-type'] ?? '');
      return { status: outcome.status, type, text: outcome.body.toString() };
    }
    const sent = outcome.kind === 'forward' ? outcome.body : Buffer.from(body);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: opts.path ?? '/mcp',
          headers: { ...headers, 'content-length': sent.length },
        },
        resolve,
      );
      req.on('error', reject);
      req.end(sent);
    });
    const passed =
      outcome.kind === 'forward'
        ? outcome.response.start(res.statusCode ?? 0, res.headers)
        : { status: res.statusCode ?? 0, headers: res.headers, body: undefined };
    const stream = passed.body ? res.pipe(passed.body) : res;
    let text = '';
    for await (const chunk of stream) text += (chunk as Buffer).toString();
    return { status: passed.status, type: String(passed.headers['content-type'] ?? ''), text };
  }

  const call = (id: number, name: string) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: {} },
  });

  it('leaves JSON that is not JSON-RPC alone', () => {
    const outcome = governMcpHttp(
      {
        host: 'api.test',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"model":"x"}'),
      },
      session([]),
    );
    assert.equal(outcome.kind, 'pass');
  });

  it('leaves a streaming model request alone though it sends the headers MCP uses', () => {
    const outcome = governMcpHttp(
      {
        host: 'api.test',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: Buffer.from('{"model":"x","input":[{"role":"user"}],"stream":true}'),
      },
      session([]),
    );
    assert.equal(outcome.kind, 'pass');
  });

  it('judges a call without `jsonrpc` when the request has MCP headers', () => {
    const { jsonrpc: _, ...bare } = call(9, 'delete');
    const outcome = governMcpHttp(
      {
        host: 'mcp.test',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: Buffer.from(JSON.stringify(bare)),
      },
      session([]),
    );
    assert.equal(outcome.kind, 'answer');
  });

  it('judges a call behind a byte-order mark, on any method, without MCP headers', () => {
    const outcome = governMcpHttp(
      {
        host: 'mcp.test',
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('\uFEFF' + JSON.stringify(call(7, 'delete'))),
      },
      session([]),
    );
    assert.equal(outcome.kind, 'answer');
    if (outcome.kind === 'answer') assert.match(outcome.body.toString(), /no-delete/);
  });

  it('refuses a body declared as JSON that it cannot read, even without MCP headers', () => {
    const outcome = governMcpHttp(
      {
        host: 'api.test',
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-16le' },
        body: Buffer.from(JSON.stringify(call(8, 'delete')), 'utf16le'),
      },
      session([]),
    );
    assert.equal(outcome.kind, 'answer');
    if (outcome.kind === 'answer') assert.equal(outcome.status, 400);
  });

  it('forwards an allowed call and records it against the host as the server name', async () => {
    const rows: NewEvent[] = [];
    const before = received.length;
    const r = await exchange(JSON.stringify(call(1, 'read')), { rows });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).result.content[0].text, 'tools/call');
    assert.equal(received.length, before + 1);
    assert.deepEqual(
      rows.map((e) => [e.kind, e.resource, e.decision, e.policies, e.details.transport]),
      [['mcp', 'mcp.test/read', 'allow', ['read'], 'http']],
    );
  });

  it('answers a denied call itself, naming the policy, and sends nothing upstream', async () => {
    const before = received.length;
    const r = await exchange(JSON.stringify(call(2, 'delete')));
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    const reply = JSON.parse(r.text);
    assert.equal(reply.id, 2);
    assert.match(reply.error.message, /mcp\.test\/delete.*no-delete/);
    assert.equal(received.length, before);
  });

  it('refuses a body that is not JSON on an MCP request with 400 and a parse error', async () => {
    const r = await exchange('{"jsonrpc":', { headers: { 'mcp-protocol-version': '2025-06-18' } });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.text).error.code, -32700);
  });

  it('refuses a compressed MCP request it cannot read', async () => {
    const r = await exchange(JSON.stringify(call(3, 'read')), {
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(r.status, 415);
  });

  it('filters tools/list in an SSE response, keeping the event fields', async () => {
    const r = await exchange(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }), {
      path: '/mcp?sse',
    });
    assert.equal(r.type, 'text/event-stream');
    assert.match(r.text, /^id: 1\nevent: message\ndata: /);
    const data = JSON.parse(r.text.split('data: ')[1] as string);
    assert.deepEqual(data.result.tools, [{ name: 'read' }]);
  });

  it('filters tools/list in a JSON response and fixes its length', async () => {
    const r = await exchange(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }));
    assert.deepEqual(JSON.parse(r.text).result.tools, [{ name: 'read' }]);
  });

  it('merges the denials of a batch into the JSON batch reply', async () => {
    const r = await exchange(JSON.stringify([call(6, 'read'), call(7, 'write')]));
    const ids = (JSON.parse(r.text) as { id: number; error?: { code: number } }[]).map((m) => [
      m.id,
      m.error?.code,
    ]);
    assert.deepEqual(ids, [
      [6, undefined],
      [7, -32001],
    ]);
  });

  it('sends the denials of a batch first on an SSE reply', async () => {
    const r = await exchange(JSON.stringify([call(8, 'read'), call(9, 'delete')]), {
      path: '/mcp?sse',
    });
    const events = r.text
      .split('\n\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)));
    assert.deepEqual(
      events[0].map((m: { id: number }) => m.id),
      [9],
    );
    assert.equal(events[1].id, 8);
  });

  it('answers the denials when only notifications went upstream (202 becomes 200)', async () => {
    const r = await exchange(
      JSON.stringify([call(10, 'write'), { jsonrpc: '2.0', method: 'notifications/initialized' }]),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(
      JSON.parse(r.text).map((m: { id: number }) => m.id),
      [10],
    );
  });
});
