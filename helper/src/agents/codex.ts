/** Codex (`@openai/codex`). */
import { agentBin, type AgentProfile } from './profile';

export const codex: AgentProfile = {
  name: 'codex',
  title: 'Codex',
  image: 'agents',
  // Leash is the sandbox: Codex's own (which needs namespaces the sandbox refuses) is off.
  command: (args) => [agentBin('codex'), '--dangerously-bypass-approvals-and-sandbox', ...args],
  env: {
    CODEX_HOME: '/root/.codex',
  },
  callerEnv: ['OPENAI_BASE_URL'],
  apiKey: { env: 'OPENAI_API_KEY', host: 'api.openai.com' },
  // `-c` overrides of its config.toml; values are TOML, which JSON strings and arrays are.
  mcpArgs: (servers) =>
    Object.entries(servers).flatMap(([name, [command, ...args]]) => [
      '-c',
      `mcp_servers.${name}.command=${JSON.stringify(command)}`,
      '-c',
      `mcp_servers.${name}.args=${JSON.stringify(args)}`,
    ]),
};
