/**
 * Completion inside strings over LSP: address forms inside `ip("…")` always; host names,
 * addresses, MCP servers and tools from the audit log of a real leashd when one is reachable;
 * and completion that answers at once when leashd does not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CompletionRequest,
  type CompletionItem,
  type CompletionList,
} from 'vscode-languageserver-protocol/node';
import { startServer, type Client } from './lsp-client';

/** The repository's shared test support, built by `tsc -b test`. */
const SUPPORT = join(__dirname, '..', '..', 'test', 'dist', 'support');

interface Daemon {
  socket: string;
  stateDir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
const { TestDaemon } = require(join(SUPPORT, 'leashd.js')) as {
  TestDaemon: new (flags?: string[]) => Daemon;
};
const { sandboxSkip } = require(join(SUPPORT, 'env.js')) as { sandboxSkip(): string | false };
const { AuditStore } = require(
  join(__dirname, '..', '..', 'helper', 'dist', 'audit', 'store.js'),
) as {
  AuditStore: new (file: string) => { append(events: object[]): unknown; close?(): void };
};

async function complete(client: Client, uri: string, text: string): Promise<CompletionItem[]> {
  const lines = text.split('\n');
  const position = { line: lines.length - 1, character: (lines.at(-1) ?? '').length };
  const answer = (await client.connection.sendRequest(CompletionRequest.type, {
    textDocument: { uri },
    position,
  })) as CompletionItem[] | CompletionList | null;
  return Array.isArray(answer) ? answer : (answer?.items ?? []);
}

const labels = (items: CompletionItem[]): string[] => items.map((i) => i.label);

const CONNECT = '@id("c") permit (principal, action == Leash::Action::"Connect", resource) when {';
const MCP = '@id("m") permit (principal, action == Leash::Action::"McpCall", resource) when {';
const HTTP = '@id("h") permit (principal, action == Leash::Action::"HttpRequest", resource) when {';

describe('completion inside ip("…") without leashd', () => {
  let client: Client;
  let silent: Server;
  let dir: string;
  const open = new Set<Socket>();

  before(async () => {
    // A socket that accepts and never answers: leashd hung, or something else on its path.
    dir = mkdtempSync(join(tmpdir(), 'leash-ls-silent-'));
    const socket = join(dir, 'leashd.sock');
    silent = createServer((s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
    });
    await new Promise<void>((done) => silent.listen(socket, done));
    client = await startServer({}, { LEASH_SOCKET: socket });
  });
  after(async () => {
    await client.stop();
    open.forEach((s) => s.destroy());
    await new Promise<void>((done) => silent.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('offers address forms at once while leashd does not answer', async () => {
    const text = `${CONNECT} resource.ip.isInRange(ip("`;
    const uri = client.open('ip.cedar', text);
    const items = await complete(client, uri, text);
    assert.ok(open.size > 0, "the server's query to the silent socket is still waiting");
    for (const cidr of ['10.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7']) {
      assert.ok(labels(items).includes(cidr), `${cidr} in ${labels(items)}`);
    }
    const local = items.find((i) => i.label === '192.168.0.0/16');
    assert.match(local?.detail ?? '', /RFC 1918/);
  });

  it('replaces what is typed, and offers nothing from a log it cannot read', async () => {
    const text = `${CONNECT} resource.ip == ip("10.`;
    const uri = client.open('ip-typed.cedar', text);
    const items = await complete(client, uri, text);
    const edit = items.find((i) => i.label === '10.0.0.0/8')?.textEdit;
    assert.ok(edit && 'range' in edit);
    assert.equal(edit.range.end.character - edit.range.start.character, 3);
    const host = `${HTTP} resource == Leash::Host::"`;
    assert.deepEqual(await complete(client, client.open('host.cedar', host), host), []);
  });
});

describe('completion of names from the audit log of a real leashd', { skip: sandboxSkip() }, () => {
  let daemon: Daemon;
  let client: Client;

  before(async () => {
    daemon = new TestDaemon(['--ui-port', '0']);
    mkdirSync(daemon.stateDir, { recursive: true });
    const store = new AuditStore(join(daemon.stateDir, 'audit.db'));
    const event = { session: 'ls-test', principal: 'claude', policies: [], pid: 1, comm: 'x' };
    store.append([
      {
        ...event,
        kind: 'http',
        action: 'HttpRequest',
        resource: 'api.example.test',
        decision: 'deny',
        count: 1,
        details: { host: 'api.example.test', port: 443, method: 'GET', path: '/v1' },
      },
      {
        ...event,
        kind: 'net',
        action: 'Connect',
        resource: '10.1.2.3:5432',
        decision: 'allow',
        count: 3,
        details: { ip: '10.1.2.3', port: 5432, protocol: 'tcp', hosts: ['db.internal.test'] },
      },
      {
        ...event,
        kind: 'mcp',
        action: 'McpCall',
        resource: 'github/create_issue',
        decision: 'allow',
        count: 1,
        details: { server: 'github', tool: 'create_issue', arguments: '{}', transport: 'stdio' },
      },
    ]);
    store.close?.();
    await daemon.start();
    client = await startServer({}, { LEASH_SOCKET: daemon.socket });
  });
  after(async () => {
    await client?.stop();
    await daemon?.stop();
  });

  /** The first refresh runs when the server starts; ask until its names have come in. */
  async function completeOnce(name: string, text: string, want: string): Promise<CompletionItem[]> {
    const uri = client.open(name, text);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const items = await complete(client, uri, text);
      if (labels(items).includes(want) || Date.now() > deadline) return items;
      await new Promise((wake) => setTimeout(wake, 200));
    }
  }

  it('offers the hosts requested and the names the resolver answered', async () => {
    const text = `${HTTP} resource == Leash::Host::"`;
    const items = await completeOnce('hosts.cedar', text, 'api.example.test');
    assert.ok(labels(items).includes('api.example.test'), `${labels(items)}`);
    assert.ok(labels(items).includes('db.internal.test'), `${labels(items)}`);
    const host = items.find((i) => i.label === 'api.example.test');
    assert.equal(host?.detail, 'seen in the audit log: requested once, denied each time');
  });

  it('offers the addresses connected to first inside ip("…")', async () => {
    const text = `${CONNECT} resource.ip == ip("`;
    const items = await completeOnce('addresses.cedar', text, '10.1.2.3');
    assert.equal(items[0]?.label, '10.1.2.3');
    assert.equal(items[0]?.detail, 'seen in the audit log: connected to 3 times');
  });

  it('offers MCP servers, server/tool ids, and tool names after resource.name', async () => {
    const tool = await completeOnce(
      'tools.cedar',
      `${MCP} resource == Leash::McpTool::"`,
      'github/create_issue',
    );
    assert.deepEqual(labels(tool), ['github/create_issue']);
    const server = await completeOnce(
      'servers.cedar',
      `${MCP} resource in Leash::McpServer::"`,
      'github',
    );
    assert.deepEqual(labels(server), ['github']);
    const byName = await completeOnce('names.cedar', `${MCP} resource.name == "`, 'create_issue');
    assert.deepEqual(labels(byName), ['create_issue']);
  });
});
