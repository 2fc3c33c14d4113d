/** What Leash needs to know to run one agent CLI unattended in a sandbox. */

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
  /** Variables the caller may pass from their own environment (never a key in this cut). */
  callerEnv: string[];
  /** The variable holding the agent's API key and the host that key belongs to. The sandbox
   *  gets a placeholder; the proxy will put the real key on requests to that host only. */
  apiKey?: { env: string; host: string };
  /** Arguments, placed right after the program, that give the agent its governed MCP servers
   *  (server name -> the shim's command line); absent when Leash cannot configure it yet. */
  mcpArgs?(servers: Record<string, string[]>): string[];
}

/** Where an agent CLI is installed inside the agents image. */
export function agentBin(agent: string, program = agent): string {
  return `/opt/agents/${agent}/bin/${program}`;
}
