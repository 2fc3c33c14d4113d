/** Codex (`@openai/codex`). */
import { agentBin, OPENAI_KEY, type AgentProfile } from './profile';

/** No update check, analytics, apps or plugins: each reaches hosts of its own
 *  (api.github.com, chatgpt.com, ab.chatgpt.com), which the default policy refuses anyway. */
const QUIET = [
  'check_for_update_on_startup=false',
  'analytics.enabled=false',
  'features.apps=false',
  'features.plugins=false',
];

export const codex: AgentProfile = {
  name: 'codex',
  title: 'Codex',
  image: 'agents',
  // Leash is the sandbox: Codex's own (which needs namespaces the sandbox refuses) is off.
  command: (args) => [
    agentBin('codex'),
    '--dangerously-bypass-approvals-and-sandbox',
    ...QUIET.flatMap((setting) => ['-c', setting]),
    ...args,
  ],
  env: {},
  callerEnv: [],
  // Its built-in provider sends no key of its own without `codex login` (OPENAI_BASE_URL is
  // not read either): the proxy's header is what authenticates it.
  apiKeys: [OPENAI_KEY],
  config: { dirs: ['.codex'], env: 'CODEX_HOME' },
  // `-c` overrides of its config.toml; values are TOML, which JSON strings and arrays are.
  mcpArgs: (servers) =>
    Object.entries(servers).flatMap(([name, [command, ...args]]) => [
      '-c',
      `mcp_servers.${name}.command=${JSON.stringify(command)}`,
      '-c',
      `mcp_servers.${name}.args=${JSON.stringify(args)}`,
    ]),
};
