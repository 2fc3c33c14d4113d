/**
 * The agent's configuration and state (logins, settings, history) persisted per workspace in
 * Docker volumes that Leash owns, never in the host user's home: a session of the same agent
 * in the same workspace finds what the last one left. A volume's name says whose it is:
 * `leash-<agent>-<workspace hash>-<directory>`.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { AgentProfile } from './profile';

/** Each configuration directory of the agent: its volume's name and its path in the sandbox. */
export function configVolumes(
  profile: AgentProfile,
  workspace: string,
  home: string,
): { name: string; path: string }[] {
  const id = crypto.createHash('sha256').update(workspace).digest('hex').slice(0, 12);
  return profile.config.dirs.map((dir) => ({
    name: `leash-${profile.name}-${id}-${dir.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`,
    path: path.posix.join(home, dir),
  }));
}

/** The volumes as Docker binds (`name:path:rw`); Docker creates a missing one empty, then
 *  fills it from the image's directory at that path, if any. */
export function configBinds(profile: AgentProfile, workspace: string, home: string): string[] {
  return configVolumes(profile, workspace, home).map((v) => `${v.name}:${v.path}:rw`);
}
