/** Claude Code (`@anthropic-ai/claude-code`). */
import { agentBin, ANTHROPIC_KEY, type AgentProfile } from './profile';

export const claude: AgentProfile = {
  name: 'claude',
  title: 'Claude Code',
  image: 'agents',
  // The sandbox is the permission boundary, so Claude Code's own prompts are switched off;
  // as root it accepts that only with IS_SANDBOX=1.
  command: (args) => [agentBin('claude'), '--dangerously-skip-permissions', ...args],
  env: {
    IS_SANDBOX: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
  },
  callerEnv: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'ANTHROPIC_SMALL_FAST_MODEL'],
  apiKeys: [{ ...ANTHROPIC_KEY, baseUrlEnv: 'ANTHROPIC_BASE_URL' }],
  // With CLAUDE_CONFIG_DIR set, its `.claude.json` moves into the directory too.
  config: { dirs: ['.claude'], env: 'CLAUDE_CONFIG_DIR' },
  // `--mcp-config` takes several values; in the `=` form it takes just this one, so the
  // caller's own arguments that follow are left alone.
  mcpArgs: (servers) => {
    const mcpServers: Record<string, unknown> = {};
    for (const [name, [command, ...args]] of Object.entries(servers)) {
      mcpServers[name] = { type: 'stdio', command, args };
    }
    return [`--mcp-config=${JSON.stringify({ mcpServers })}`];
  },
};
