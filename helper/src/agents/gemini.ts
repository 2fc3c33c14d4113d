/** Gemini CLI (`@google/gemini-cli`). */
import { agentBin, type AgentProfile } from './profile';

export const gemini: AgentProfile = {
  name: 'gemini',
  title: 'Gemini CLI',
  image: 'agents',
  command: (args) => [agentBin('gemini'), '--yolo', ...args],
  env: {
    GEMINI_CLI_NO_RELAUNCH: 'true',
  },
  callerEnv: ['GOOGLE_GEMINI_BASE_URL', 'GEMINI_MODEL'],
  apiKey: { env: 'GEMINI_API_KEY', host: 'generativelanguage.googleapis.com' },
};
