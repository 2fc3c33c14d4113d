import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { agentProfile } from '../agents';
import { shimCommand } from './run-dir';

describe("agents' MCP configuration", () => {
  const shim = shimCommand('/w', 's1', 'notes');

  it('points at the shim, the session socket and the server by name', () => {
    assert.deepEqual(shim, [
      'node',
      '/w/.leash/run/mcp-shim.js',
      '/w/.leash/run/mcp-s1.sock',
      'notes',
    ]);
  });

  it('gives Claude Code one --mcp-config= value holding every server', () => {
    const args = agentProfile('claude').mcpArgs?.({ notes: shim }) ?? [];
    assert.equal(args.length, 1);
    const [flag, json] = [args[0]?.slice(0, 13), args[0]?.slice(13)];
    assert.equal(flag, '--mcp-config=');
    assert.deepEqual(JSON.parse(json ?? ''), {
      mcpServers: { notes: { type: 'stdio', command: 'node', args: shim.slice(1) } },
    });
  });

  it('gives Codex -c overrides of mcp_servers in TOML', () => {
    assert.deepEqual(agentProfile('codex').mcpArgs?.({ notes: shim }), [
      '-c',
      'mcp_servers.notes.command="node"',
      '-c',
      'mcp_servers.notes.args=["/w/.leash/run/mcp-shim.js","/w/.leash/run/mcp-s1.sock","notes"]',
    ]);
  });
});
