/** Every agent Leash can run, and how a session for one is put together. */
import * as path from 'node:path';
import { claude } from './claude';
import { codex } from './codex';
import { gemini } from './gemini';
import { agentImageTag } from './image';
import { keyPlaceholder } from './keys';
import { opencode } from './opencode';
import type { AgentProfile } from './profile';
import { qwen } from './qwen';
import { shell } from './shell';

export type { AgentProfile, ApiKey } from './profile';
export { agentImageTag, pinnedVersions } from './image';
export { agentPolicy, keyHost, keyPlaceholder, registerKeys } from './keys';
export { configBinds, configVolumes, ensureConfigVolumes } from './volumes';

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

/** The agent's part of the sandbox environment: the caller's values of the variables its
 *  profile lets through, its fixed settings, where its configuration lives under `home`, and
 *  the key placeholders. */
export function agentEnv(
  profile: AgentProfile,
  callerEnv: Record<string, string>,
  home: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of profile.callerEnv) {
    const v = callerEnv[key];
    if (v !== undefined) env[key] = v;
  }
  Object.assign(env, profile.env);
  const [configDir] = profile.config.dirs;
  if (profile.config.env && configDir) env[profile.config.env] = path.posix.join(home, configDir);
  for (const key of profile.apiKeys) env[key.env] = keyPlaceholder(profile);
  return env;
}
