/** The plain shell: the arguments are the command; no arguments give an interactive shell. */
import type { AgentProfile } from './profile';

export const shell: AgentProfile = {
  name: 'shell',
  title: 'Shell',
  image: 'base',
  command: (args) => (args.length > 0 ? args : ['/bin/bash', '-l']),
  env: {},
  callerEnv: [],
  apiKeys: [],
  config: { dirs: [] },
};
