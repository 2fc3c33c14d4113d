/**
 * `leash mcp list|add|rm`: the governed stdio MCP servers sessions offer. Servers from leashd's
 * settings are listed but changed only there; added ones apply to sessions started afterwards.
 */
import type { Command } from 'commander';
import type { LeashClient } from '../cli/client';
import type { McpServerMsg } from './calls';

type WithClient = <T>(fn: (c: LeashClient) => Promise<T>) => Promise<T>;

interface McpServersReply {
  servers: McpServerMsg[];
  removed: boolean;
}

export function registerMcpCommand(program: Command, withClient: WithClient): void {
  const mcp = program
    .command('mcp')
    .description('governed stdio MCP servers: run in each sandbox, reached through the shim');
  mcp
    .command('list')
    .option('--json', 'machine-readable output (one server per line)')
    .action(async (o: { json?: boolean }) => {
      const r = await withClient((c) => c.call<McpServersReply>('listMcpServers', {}));
      for (const s of r.servers ?? []) {
        console.log(
          o.json ? JSON.stringify(s) : `${s.name}\t${s.command.join(' ')}\t(${s.source})`,
        );
      }
    });
  mcp
    .command('add')
    .description('declare a server: leash mcp add NAME [--env K=V]… [--cwd DIR] -- COMMAND…')
    .argument('<name>')
    .argument('<command...>', 'the program and its arguments, as run inside the sandbox')
    .option(
      '--env <pair>',
      'KEY=VALUE for the server, repeatable (the sandbox can read it: no keys)',
      (pair: string, all: string[]) => [...all, pair],
      [] as string[],
    )
    .option('--cwd <dir>', 'working directory in the sandbox (default: the workspace)')
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        command: string[],
        o: { env?: string[]; cwd?: string; json?: boolean },
      ) => {
        const env: Record<string, string> = {};
        for (const pair of o.env ?? []) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`--env ${pair}: write KEY=VALUE`);
          env[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        const req = { name, command, env, cwd: o.cwd ?? '', source: '' };
        await withClient((c) => c.call<McpServersReply>('addMcpServer', req));
        console.log(o.json ? JSON.stringify({ added: name }) : `added ${name}`);
      },
    );
  mcp
    .command('rm')
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }) => {
      const r = await withClient((c) => c.call<McpServersReply>('removeMcpServer', { name }));
      if (!r.removed) throw new Error(`no MCP server named ${name}; \`leash mcp list\` shows them`);
      console.log(o.json ? JSON.stringify({ removed: name }) : `removed ${name}`);
    });
}
