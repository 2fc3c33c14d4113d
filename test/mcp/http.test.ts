/** An MCP server over streamable HTTP (HTTPS with a test CA), reached from a real sandbox
 *  through leashd's proxy, which intercepts the TLS:
 *  every tools/call is judged on the way, and tools/list answers are filtered, whether the
 *  server replies with JSON or with an event stream. No real name is resolved. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';
import { loopbackAddress, makeCertificates } from '../proxy/upstream';

const REPO = path.resolve(__dirname, '..', '..', '..');
const CLIENT = path.join(REPO, 'test', 'fixtures', 'mcp', 'http-client.js');

const POLICY = `
@id("exec-any") permit (principal, action == Leash::Action::"Exec", resource);
@id("system-read") permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/");
@id("workspace-rw") permit (principal, action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
  resource in Leash::Dir::"@workspace");
@id("dev-null") permit (principal, action == Leash::Action::"WriteFile", resource == Leash::File::"/dev/null");
@id("mcp-host") permit (principal, action == Leash::Action::"HttpRequest", resource == Leash::Host::"mcp.test");
@id("read-only") permit (principal, action == Leash::Action::"McpCall",
  resource == Leash::McpTool::"mcp.test/read");
@id("no-delete") forbid (principal, action == Leash::Action::"McpCall", resource)
  when { resource.name == "delete" };
`;

interface Exchange {
  sent: unknown;
  got: { status: number; type: string; answers: Record<string, any>[] };
}

/** The MCP server: JSON replies (a batch gets a batch), but tools/list as an event stream.
 *  Records every body that reaches it. */
function mcpServer(received: string[], tls: { key: string; cert: string }): https.Server {
  return https.createServer(tls, (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      type Msg = { id?: number; method: string; params?: { name: string } };
      const parsed = JSON.parse(body) as Msg | Msg[];
      const answer = (m: Msg) => ({
        jsonrpc: '2.0',
        id: m.id,
        result:
          m.method === 'tools/list'
            ? { tools: ['read', 'write', 'delete'].map((name) => ({ name, inputSchema: {} })) }
            : { content: [{ type: 'text', text: `${m.params?.name} done` }] },
      });
      const requests = [parsed].flat().filter((m) => m.id !== undefined);
      if (requests.length === 0) {
        res.writeHead(202).end();
      } else if (!Array.isArray(parsed) && parsed.method === 'tools/list') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`event: message\ndata: ${JSON.stringify(answer(parsed))}\n\n`);
      } else {
        const reply = Array.isArray(parsed) ? requests.map(answer) : answer(parsed);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      }
    });
  });
}

describe('an MCP server over HTTP through the proxy', { skip: sandboxSkip() }, () => {
  const address = loopbackAddress();
  const certs = makeCertificates(['mcp.test']);
  const received: string[] = [];
  const server = mcpServer(received, { key: certs.key, cert: certs.cert });
  const ws = makeWorkspace({ 'policy.cedar': POLICY });
  fs.copyFileSync(process.execPath, path.join(ws, 'node'));
  fs.chmodSync(path.join(ws, 'node'), 0o755);
  fs.copyFileSync(CLIENT, path.join(ws, 'http-client.js'));
  const settings = path.join(ws, 'proxy-test.json');
  fs.writeFileSync(
    settings,
    JSON.stringify({ hosts: { 'mcp.test': address }, upstreamCaFile: certs.caFile }),
  );
  const daemon = new TestDaemon(['--proxy-test-settings', settings]);
  const call = (id: number, name: string) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: { note: 'a' } },
  });
  let exchanges: Exchange[] = [];
  let session = '';

  before(async () => {
    await new Promise<void>((r) => server.listen(443, address, r));
    await daemon.start();
    fs.writeFileSync(
      path.join(ws, 'script.json'),
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        call(2, 'read'),
        call(3, 'delete'),
        call(4, 'write'),
        [call(5, 'read'), call(6, 'write')],
        '{"jsonrpc":"2.0","id":7,',
      ]),
    );
    // The MCP server runs in this process: the CLI must not block it.
    const r = await daemon.cliAsync([
      'run',
      '--json',
      '--workspace',
      ws,
      '--policy',
      path.join(ws, 'policy.cedar'),
      'shell',
      '--',
      `${ws}/node`,
      `${ws}/http-client.js`,
      'https://mcp.test/mcp',
      `${ws}/script.json`,
      `${ws}/out.jsonl`,
    ]).done;
    assert.equal(r.status, 0, `${r.stderr}\n${daemon.log.slice(-3000)}`);
    session = sessionOf(r.stderr);
    exchanges = fs
      .readFileSync(`${ws}/out.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Exchange);
  });
  after(async () => {
    await daemon.stop();
    server.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it('filters tools/list in the server event stream to the tools the policy can allow', () => {
    const list = exchanges[0]?.got;
    assert.equal(list?.type, 'text/event-stream');
    assert.deepEqual(
      list?.answers[0]?.result.tools.map((t: { name: string }) => t.name),
      ['read'],
    );
  });

  it('passes an allowed call to the server and its answer back', () => {
    assert.equal(exchanges[1]?.got.answers[0]?.result.content[0].text, 'read done');
  });

  it('answers a forbidden and an unpermitted call itself, naming the policy or the gap', () => {
    const forbidden = exchanges[2]?.got;
    assert.equal(forbidden?.status, 200);
    assert.equal(forbidden?.answers[0]?.error.code, -32001);
    assert.match(forbidden?.answers[0]?.error.message, /mcp\.test\/delete.*no-delete/);
    assert.match(exchanges[3]?.got.answers[0]?.error.message, /denied by default/);
  });

  it('answers a batch with the allowed reply and the denial together', () => {
    const batch = exchanges[4]?.got.answers[0] as unknown as {
      id: number;
      error?: { code: number };
    }[];
    assert.deepEqual(
      batch.map((m) => [m.id, m.error?.code]),
      [
        [5, undefined],
        [6, -32001],
      ],
    );
  });

  it('refuses a body that is not JSON with 400 and a parse error', () => {
    assert.equal(exchanges[5]?.got.status, 400);
    assert.equal(exchanges[5]?.got.answers[0]?.error.code, -32700);
  });

  it('sends the server only what the policy allows', () => {
    const calls = received
      .flatMap((b) => [JSON.parse(b)].flat() as { method: string; params?: { name: string } }[])
      .filter((m) => m.method === 'tools/call')
      .map((m) => m.params?.name);
    assert.deepEqual(calls, ['read', 'read']);
  });

  it('records each call with the host as the server name', () => {
    const rows = daemon
      .events(session)
      .filter((e) => e.kind === 'mcp')
      .map((e) => [e.resource, e.decision, (e.policies as string[]).join(','), e.transport]);
    assert.deepEqual(rows, [
      ['mcp.test/read', 'allow', 'read-only', 'http'],
      ['mcp.test/delete', 'deny', 'no-delete', 'http'],
      ['mcp.test/write', 'deny', '', 'http'],
      ['mcp.test/read', 'allow', 'read-only', 'http'],
      ['mcp.test/write', 'deny', '', 'http'],
    ]);
  });
});
