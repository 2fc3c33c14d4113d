/** Gemini CLI (`@google/gemini-cli`). */
import { agentBin, GEMINI_KEY, type AgentProfile } from './profile';

export const gemini: AgentProfile = {
  name: 'gemini',
  title: 'Gemini CLI',
  image: 'agents',
  command: (args) => [agentBin('gemini'), '--yolo', ...args],
  env: {
    GEMINI_CLI_NO_RELAUNCH: 'true',
    // The sandbox is the boundary: without trust, --yolo falls back to asking.
    GEMINI_CLI_TRUST_WORKSPACE: 'true',
  },
  callerEnv: ['GOOGLE_GEMINI_BASE_URL', 'GEMINI_MODEL'],
  apiKeys: [{ ...GEMINI_KEY, baseUrlEnv: 'GOOGLE_GEMINI_BASE_URL' }],
  config: { dirs: ['.gemini'] },
};
