/** OpenCode (`opencode-ai`). */
import { agentBin, ANTHROPIC_KEY, OPENAI_KEY, type AgentProfile } from './profile';

export const opencode: AgentProfile = {
  name: 'opencode',
  title: 'OpenCode',
  image: 'agents',
  command: (args) => [agentBin('opencode'), ...args],
  env: {
    OPENCODE_DISABLE_AUTOUPDATE: 'true',
    OPENCODE_DISABLE_SHARE: 'true',
    // Its model catalogue is fetched from models.dev, a host the default policy does not
    // permit; the catalogue it ships with is used instead.
    OPENCODE_DISABLE_MODELS_FETCH: 'true',
    // The sandbox is the permission boundary: its own prompts are off (a JSON value).
    OPENCODE_PERMISSION: '"allow"',
  },
  callerEnv: [],
  // Its provider is chosen in its own configuration; the keys of the built-in Anthropic and
  // OpenAI providers are handled (a base URL is set in its configuration, not the environment).
  apiKeys: [ANTHROPIC_KEY, OPENAI_KEY],
  config: { dirs: ['.config/opencode', '.local/share/opencode'] },
};
