/** OpenCode (`opencode-ai`). Not yet driven against a model stand-in (see README, Agents). */
import { agentBin, type AgentProfile } from './profile';

export const opencode: AgentProfile = {
  name: 'opencode',
  title: 'OpenCode',
  image: 'agents',
  command: (args) => [agentBin('opencode'), ...args],
  env: {
    OPENCODE_DISABLE_AUTOUPDATE: 'true',
  },
  // Its provider, and so the host a key belongs to, is chosen in its own configuration.
  callerEnv: [],
};
