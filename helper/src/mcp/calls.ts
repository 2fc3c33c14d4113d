/** leashd's MCP server calls (ListMcpServers, AddMcpServer, RemoveMcpServer). */
import { governedRegistry } from './servers';

type Wrap = <Req, Res>(fn: (req: Req) => Res) => unknown;

export interface McpServerMsg {
  name: string;
  command: string[];
  env: Record<string, string>;
  cwd: string;
  source: string;
}

function listed(removed = false): { servers: McpServerMsg[]; removed: boolean } {
  const servers = governedRegistry()
    .list()
    .map((s) => ({
      name: s.name,
      command: s.command,
      env: s.env,
      cwd: s.cwd ?? '',
      source: s.source,
    }));
  return { servers, removed };
}

export function mcpCalls(unary: Wrap): Record<string, unknown> {
  return {
    listMcpServers: unary(() => listed()),
    addMcpServer: unary((req: McpServerMsg) => {
      governedRegistry().add({
        name: req.name,
        command: req.command ?? [],
        env: req.env ?? {},
        cwd: req.cwd,
      });
      return listed();
    }),
    removeMcpServer: unary((req: { name: string }) => listed(governedRegistry().remove(req.name))),
  };
}
