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
};
