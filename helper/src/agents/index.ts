/** Every agent Leash can run, and how a session for one is put together. */
import { claude } from './claude';
import { codex } from './codex';
import { gemini } from './gemini';
import { agentImageTag } from './image';
import { opencode } from './opencode';
import type { AgentProfile } from './profile';
import { qwen } from './qwen';
import { shell } from './shell';

export type { AgentProfile } from './profile';
export { agentImageTag, pinnedVersions } from './image';

const PROFILES: AgentProfile[] = [shell, claude, codex, gemini, qwen, opencode];

export const KNOWN_AGENTS = PROFILES.map((p) => p.name);

export function agentProfile(name: string): AgentProfile {
  const profile = PROFILES.find((p) => p.name === name);
  if (!profile) {
    throw new Error(`unknown agent ${name}; known agents: ${KNOWN_AGENTS.join(', ')}`);
  }
  return profile;
}

/** The image a session of this agent runs; `baseImage` is leashd's configured base. */
export function agentImage(profile: AgentProfile, baseImage: string): string {
  return profile.image === 'base' ? baseImage : agentImageTag();
}

/** What the sandbox holds in place of an API key until the proxy swaps the real one in on
 *  requests to the key's host (issue 6); never a real key. */
export function keyPlaceholder(profile: AgentProfile): string {
  return `leash-placeholder-${profile.name}`;
}

/** The agent's part of the sandbox environment: the caller's values of the variables its
 *  profile lets through, its fixed settings, and the key placeholder. */
export function agentEnv(
  profile: AgentProfile,
  callerEnv: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of profile.callerEnv) {
    const v = callerEnv[key];
    if (v !== undefined) env[key] = v;
  }
  Object.assign(env, profile.env);
  if (profile.apiKey) env[profile.apiKey.env] = keyPlaceholder(profile);
  return env;
}
