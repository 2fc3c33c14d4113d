/** OpenCode (`opencode-ai`). */
import { agentBin, ANTHROPIC_KEY, OPENAI_KEY, type AgentProfile } from './profile';

export const opencode: AgentProfile = {
  name: 'opencode',
  title: 'OpenCode',
  image: 'agents',
  command: (args) => [agentBin('opencode'), ...args],
  env: {
    OPENCODE_DISABLE_AUTOUPDATE: 'true',
  },
  callerEnv: [],
  // Its provider is chosen in its own configuration; the keys of the built-in Anthropic and
  // OpenAI providers are handled (a base URL is set in its configuration, not the environment).
  apiKeys: [ANTHROPIC_KEY, OPENAI_KEY],
  config: { dirs: ['.config/opencode', '.local/share/opencode'] },
};
