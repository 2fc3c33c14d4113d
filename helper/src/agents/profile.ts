/** What Leash needs to know to run one agent CLI unattended in a sandbox. */

/** An API key an agent reads from its environment. The sandbox gets a placeholder in that
 *  variable; the real key is a leashd secret of the same name, which the proxy puts on
 *  requests to the key's host only. */
export interface ApiKey {
  /** The variable the agent reads the key from, and the name of the secret holding it. */
  env: string;
  /** The API host the key belongs to. */
  host: string;
  /** The header carrying the key, as `Name: value` with `KEY` where the key goes. */
  header: string;
  /** A caller variable holding the agent's base URL: an `https:` URL there moves the key to
   *  that URL's host. */
  baseUrlEnv?: string;
}

export interface AgentProfile {
  /** The principal's name (`Agent::"<name>"`) and the name on the command line. */
  name: string;
  /** How users know it. */
  title: string;
  /** Which image the session runs: the plain base, or the base with the agent CLIs. */
  image: 'base' | 'agents';
  /** The command line for the agent, given the arguments after `--`. */
  command(args: string[]): string[];
  /** Set in the sandbox for every run: no auto-update, no telemetry, no prompts. */
  env: Record<string, string>;
  /** Variables the caller may pass from their own environment (never a key). */
  callerEnv: string[];
  /** The keys the agent may use; each is handled as `ApiKey` says. */
  apiKeys: ApiKey[];
  /** Where the agent keeps its configuration and state, relative to the sandbox user's home:
   *  each directory lives in a Leash volume of its own per workspace. `env` names a variable
   *  that points the agent at the first directory. */
  config: { dirs: string[]; env?: string };
  /** Arguments, placed right after the program, that give the agent its governed MCP servers
   *  (server name -> the shim's command line); absent when Leash cannot configure it yet. */
  mcpArgs?(servers: Record<string, string[]>): string[];
}

/** Where an agent CLI is installed inside the agents image. */
export function agentBin(agent: string, program = agent): string {
  return `/opt/agents/${agent}/bin/${program}`;
}

/** The keys agents share, by provider (an agent that reads a base URL adds `baseUrlEnv`). */
export const ANTHROPIC_KEY: ApiKey = {
  env: 'ANTHROPIC_API_KEY',
  host: 'api.anthropic.com',
  header: 'x-api-key: KEY',
};
export const OPENAI_KEY: ApiKey = {
  env: 'OPENAI_API_KEY',
  host: 'api.openai.com',
  header: 'Authorization: Bearer KEY',
};
export const GEMINI_KEY: ApiKey = {
  env: 'GEMINI_API_KEY',
  host: 'generativelanguage.googleapis.com',
  header: 'x-goog-api-key: KEY',
};
