/** Qwen Code (`@qwen-code/qwen-code`): speaks the OpenAI-compatible API. */
import { agentBin, type AgentProfile } from './profile';

export const qwen: AgentProfile = {
  name: 'qwen',
  title: 'Qwen Code',
  image: 'agents',
  command: (args) => [agentBin('qwen'), '--yolo', ...args],
  env: {},
  callerEnv: ['OPENAI_BASE_URL', 'OPENAI_MODEL'],
  // Its default endpoint; a caller's OPENAI_BASE_URL moves the key to that host.
  apiKey: { env: 'OPENAI_API_KEY', host: 'api.openai.com' },
};
