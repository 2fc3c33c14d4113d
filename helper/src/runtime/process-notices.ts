/** What a process session is asked for and does not honour, for `leash run` to show. */
import type { AgentProfile } from '../agents';
import { governedServers } from '../mcp/servers';
import { readDevcontainer } from './devcontainer';

export function processNotices(workspace: string, profile: AgentProfile): string[] {
  const notices: string[] = [];
  let devcontainer: string | undefined;
  try {
    devcontainer = readDevcontainer(workspace)?.file;
  } catch (err) {
    // The process runtime does not use the file, so a broken one is only worth a word.
    devcontainer = `devcontainer.json (${(err as Error).message})`;
  }
  if (devcontainer) {
    notices.push(`${devcontainer}: the process runtime runs the host's programs, not an image`);
  }
  if (governedServers().size > 0) {
    notices.push('governed MCP servers: not offered to process sessions yet');
  }
  if (profile.apiKeys.length > 0) {
    notices.push(
      `${profile.name}: a process sandbox has loopback only; the agent cannot reach its API`,
    );
  }
  return notices;
}
