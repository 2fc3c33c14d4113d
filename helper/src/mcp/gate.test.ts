import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { McpRule, PrincipalIR } from '@leash/policies';
import { McpGate, type JudgedCall } from './gate';
import { INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, POLICY_DENIED } from './jsonrpc';
import { mcpPolicy, type McpPolicy } from './policy';
import type { Mode } from '../session/modes';

function rules(mcp: McpRule[]): PrincipalIR {
  return { principal: 'claude', files: [], connects: [], exec: [], http: [], mcp };
}

const eq = (value: string) => ({ kind: 'equals' as const, value });

/** Allows notes/read only, and forbids notes/delete outright. */
const ALLOWLIST = rules([
  {
    id: 'notes-read',
    effect: 'permit',
    match: [
      { on: 'server', match: eq('notes') },
      { on: 'tool', match: eq('read') },
    ],
  },
  { id: 'no-delete', effect: 'forbid', match: [{ on: 'tool', match: eq('delete') }] },
]);

function gateFor(ir: PrincipalIR, mode: Mode = 'enforce', always = new Set<string>()) {
  const calls: JudgedCall[] = [];
  let policy: McpPolicy = mcpPolicy(ir, mode, always);
  const gate = new McpGate(
    'notes',
    () => policy,
    (c) => calls.push(c),
  );
  return { gate, calls, reload: (next: PrincipalIR) => (policy = mcpPolicy(next, mode, always)) };
}

function call(
  id: number | string | null,
  name: string,
  args: unknown = {},
): Record<string, unknown> {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

function json(text: string | undefined): any {
  assert.ok(text !== undefined, 'expected a text');
  return JSON.parse(text);
}

describe('McpGate: tools/call', () => {
  it('forwards an allowlisted call unchanged and records the allow with its policy', () => {
    const { gate, calls } = gateFor(ALLOWLIST);
    const out = gate.fromClient(JSON.stringify(call(1, 'read', { path: 'a.txt' })));
    assert.equal(out.toClient, undefined);
    assert.deepEqual(json(out.toServer), call(1, 'read', { path: 'a.txt' }));
    assert.deepEqual(calls, [
      {
        server: 'notes',
        tool: 'read',
        arguments: '{"path":"a.txt"}',
        decision: 'allow',
        policies: ['notes-read'],
        id: 1,
      },
    ]);
  });

  it('answers a call no permit matches with a JSON-RPC error and sends nothing on', () => {
    const { gate, calls } = gateFor(ALLOWLIST);
    const out = gate.fromClient(JSON.stringify(call(7, 'write')));
    assert.equal(out.toServer, undefined);
    const reply = json(out.toClient);
    assert.equal(reply.id, 7);
    assert.equal(reply.error.code, POLICY_DENIED);
    assert.match(reply.error.message, /McpTool::"notes\/write" denied by default/);
    assert.deepEqual(reply.error.data.policies, []);
    assert.equal(calls[0]?.decision, 'deny');
  });

  it('lets a forbid win over a permit and names the forbid in the error', () => {
    const ir = rules([
      { id: 'all-notes', effect: 'permit', match: [{ on: 'server', match: eq('notes') }] },
      { id: 'no-delete', effect: 'forbid', match: [{ on: 'tool', match: eq('delete') }] },
    ]);
    const { gate } = gateFor(ir);
    const reply = json(gate.fromClient(JSON.stringify(call('x', 'delete'))).toClient);
    assert.equal(reply.id, 'x');
    assert.match(reply.error.message, /denied by policy no-delete/);
    assert.deepEqual(reply.error.data.policies, ['no-delete']);
  });

  it('judges the arguments as JSON text and forwards exactly what it judged', () => {
    const ir = rules([
      { id: 'notes', effect: 'permit', match: [{ on: 'server', match: eq('notes') }] },
      {
        id: 'no-etc',
        effect: 'forbid',
        match: [{ on: 'arguments', match: { kind: 'like', parts: ['', '/etc', ''] } }],
      },
    ]);
    const { gate, calls } = gateFor(ir);
    // Two values for one key: the gate judges the value JSON.parse keeps, and the server
    // receives only that one, whichever its own parser would have picked.
    const smuggled =
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{"path":"ok","path":"/etc/shadow"}}}';
    const out = gate.fromClient(smuggled);
    assert.equal(json(out.toClient).error.code, POLICY_DENIED);
    assert.equal(calls[0]?.arguments, '{"path":"/etc/shadow"}');
    const reversed = smuggled.replace('"ok","path":"/etc/shadow"', '"/etc/shadow","path":"ok"');
    const forwarded = gate.fromClient(reversed).toServer;
    assert.equal(json(forwarded).params.arguments.path, 'ok');
    assert.doesNotMatch(forwarded ?? '', /etc/);
  });

  it('judges a tool by the exact name sent: renamed spellings get no permit of another name', () => {
    const { gate } = gateFor(ALLOWLIST);
    for (const name of ['Read', 'read ', 'notes/read', 'mcp__notes__read', 'reаd']) {
      const reply = json(gate.fromClient(JSON.stringify(call(1, name))).toClient);
      assert.equal(reply.error.code, POLICY_DENIED, name);
    }
  });

  it('drops a denied call sent as a notification (there is no id to answer)', () => {
    const { gate, calls } = gateFor(ALLOWLIST);
    const { id: _, ...notification } = call(1, 'write');
    assert.deepEqual(gate.fromClient(JSON.stringify(notification)), {});
    assert.equal(calls[0]?.decision, 'deny');
    assert.equal('id' in (calls[0] ?? {}), false);
  });

  it('uses the policy of the moment: a reload changes the next verdict', () => {
    const { gate, reload } = gateFor(ALLOWLIST);
    assert.ok(gate.fromClient(JSON.stringify(call(1, 'read'))).toServer);
    reload(rules([]));
    assert.equal(
      json(gate.fromClient(JSON.stringify(call(2, 'read'))).toClient).error.code,
      POLICY_DENIED,
    );
  });

  it('in shadow mode forwards a denied call and records it as would-deny; @always forbids hold', () => {
    const { gate, calls } = gateFor(ALLOWLIST, 'shadow', new Set(['no-delete']));
    assert.ok(gate.fromClient(JSON.stringify(call(1, 'write'))).toServer);
    assert.equal(calls[0]?.decision, 'would-deny');
    assert.equal(
      json(gate.fromClient(JSON.stringify(call(2, 'delete'))).toClient).error.code,
      POLICY_DENIED,
    );
  });
});

describe('McpGate: batches', () => {
  it('forwards the allowed part of a batch and merges the denials into the server batch reply', () => {
    const { gate } = gateFor(ALLOWLIST);
    const batch = [
      call(1, 'read'),
      call(2, 'delete'),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ];
    const out = gate.fromClient(JSON.stringify(batch));
    assert.equal(out.toClient, undefined);
    assert.deepEqual(json(out.toServer), [call(1, 'read'), batch[2]]);

    const reply = json(
      gate.fromServer(JSON.stringify([{ jsonrpc: '2.0', id: 1, result: { content: [] } }])),
    );
    assert.deepEqual(
      reply.map((r: { id: number }) => r.id),
      [1, 2],
    );
    assert.equal(reply[1].error.code, POLICY_DENIED);
  });

  it('answers at once when nothing in the batch awaits a server reply', () => {
    const { gate } = gateFor(ALLOWLIST);
    const out = gate.fromClient(
      JSON.stringify([call(1, 'write'), { jsonrpc: '2.0', method: 'notifications/x' }]),
    );
    assert.deepEqual(json(out.toServer), [{ jsonrpc: '2.0', method: 'notifications/x' }]);
    assert.deepEqual(
      json(out.toClient).map((r: { id: number }) => r.id),
      [1],
    );
  });

  it('answers each invalid member of a batch and forwards the valid ones', () => {
    const { gate } = gateFor(ALLOWLIST);
    const out = gate.fromClient(
      JSON.stringify([1, { jsonrpc: '1.0', id: 3, method: 'x' }, call(4, 'read')]),
    );
    assert.deepEqual(json(out.toServer), [call(4, 'read')]);
    const reply = json(gate.fromServer(JSON.stringify([{ jsonrpc: '2.0', id: 4, result: {} }])));
    assert.deepEqual(
      reply.map((r: { id: unknown; error?: { code: number } }) => [r.id, r.error?.code]),
      [
        [4, undefined],
        [null, INVALID_REQUEST],
        [3, INVALID_REQUEST],
      ],
    );
  });
});

describe('McpGate: invalid JSON-RPC', () => {
  const cases: [string, string, number, unknown][] = [
    ['text that is not JSON', '{"jsonrpc":"2.0",', PARSE_ERROR, null],
    ['an empty batch', '[]', INVALID_REQUEST, null],
    ['a message without jsonrpc 2.0', '{"id":5,"method":"tools/call"}', INVALID_REQUEST, 5],
    ['an id that is an object', '{"jsonrpc":"2.0","id":{},"method":"ping"}', INVALID_REQUEST, null],
    ['a method that is not a string', '{"jsonrpc":"2.0","id":6,"method":3}', INVALID_REQUEST, 6],
    [
      'a method spelled like tools/call in another case',
      '{"jsonrpc":"2.0","id":7,"method":" Tools/Call","params":{"name":"write"}}',
      INVALID_REQUEST,
      7,
    ],
    [
      'a tools/call without a name',
      '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{}}',
      INVALID_PARAMS,
      8,
    ],
    [
      'arguments that are not an object',
      '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"read","arguments":"x"}}',
      INVALID_PARAMS,
      9,
    ],
  ];
  for (const [what, text, code, id] of cases) {
    it(`answers ${what} with error ${code} and forwards nothing`, () => {
      const { gate, calls } = gateFor(ALLOWLIST);
      const out = gate.fromClient(text);
      assert.equal(out.toServer, undefined);
      const reply = json(out.toClient);
      assert.equal(reply.jsonrpc, '2.0');
      assert.equal(reply.error.code, code);
      assert.equal(reply.id, id);
      assert.deepEqual(calls, []);
    });
  }
});

describe('McpGate: tools/list', () => {
  const list = (id: number, names: string[]): string =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      result: { tools: names.map((name) => ({ name, inputSchema: {} })) },
    });

  it('hides tools the policy denies whatever their arguments', () => {
    const { gate } = gateFor(ALLOWLIST);
    gate.fromClient('{"jsonrpc":"2.0","id":3,"method":"tools/list"}');
    const reply = json(gate.fromServer(list(3, ['read', 'write', 'delete'])));
    assert.deepEqual(
      reply.result.tools.map((t: { name: string }) => t.name),
      ['read'],
    );
  });

  it('keeps a tool whose verdict depends on its arguments, and judges each call', () => {
    const ir = rules([
      {
        id: 'write-notes',
        effect: 'permit',
        match: [
          { on: 'tool', match: eq('write') },
          { on: 'arguments', match: { kind: 'like', parts: ['{"path":"notes/', ''] } },
        ],
      },
      {
        id: 'no-secrets',
        effect: 'forbid',
        match: [{ on: 'arguments', match: { kind: 'like', parts: ['', 'secret', ''] } }],
      },
    ]);
    const { gate } = gateFor(ir);
    gate.fromClient('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    const reply = json(gate.fromServer(list(1, ['read', 'write'])));
    assert.deepEqual(
      reply.result.tools.map((t: { name: string }) => t.name),
      ['write'],
    );
    assert.ok(gate.fromClient(JSON.stringify(call(2, 'write', { path: 'notes/a' }))).toServer);
    assert.ok(gate.fromClient(JSON.stringify(call(3, 'write', { path: 'src/a' }))).toClient);
  });

  it('filters only the reply to a tools/list request, matched by id and its type', () => {
    const { gate } = gateFor(ALLOWLIST);
    gate.fromClient('{"jsonrpc":"2.0","id":"3","method":"tools/list"}');
    assert.equal(gate.fromServer(list(3, ['write'])), list(3, ['write']));
    const filtered = json(gate.fromServer(list(3, ['write']).replace('"id":3', '"id":"3"')));
    assert.deepEqual(filtered.result.tools, []);
  });

  it('lists a renamed tool by its new name: a tool renamed to an allowlisted name shows, the old one hides', () => {
    const { gate } = gateFor(ALLOWLIST);
    gate.fromClient('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    assert.deepEqual(json(gate.fromServer(list(1, ['read_v1']))).result.tools, []);
    gate.fromClient('{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
    assert.deepEqual(json(gate.fromServer(list(2, ['read']))).result.tools.length, 1);
  });
});
