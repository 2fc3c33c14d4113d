/** Qwen Code (`@qwen-code/qwen-code`): speaks the OpenAI-compatible API. */
import { agentBin, OPENAI_KEY, type AgentProfile } from './profile';

export const qwen: AgentProfile = {
  name: 'qwen',
  title: 'Qwen Code',
  image: 'agents',
  command: (args) => [agentBin('qwen'), '--yolo', ...args],
  env: {
    QWEN_CODE_SUPPRESS_YOLO_WARNING: '1',
  },
  callerEnv: ['OPENAI_BASE_URL', 'OPENAI_MODEL'],
  apiKeys: [{ ...OPENAI_KEY, baseUrlEnv: 'OPENAI_BASE_URL' }],
  config: { dirs: ['.qwen'] },
};
