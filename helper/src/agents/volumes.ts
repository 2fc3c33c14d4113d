/**
 * The agent's configuration and state (logins, settings, history) persisted per workspace in
 * Docker volumes that Leash owns, never in the host user's home: a session of the same agent
 * in the same workspace finds what the last one left. A volume's name says whose it is:
 * `leash-<agent>-<workspace hash>-<directory>`.
 */
import type Docker from 'dockerode';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentProfile } from './profile';

const AGENT_LABEL = 'dev.leash.agent';
const WORKSPACE_LABEL = 'dev.leash.workspace';

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

/**
 * Creates the volumes that do not exist yet, labelled with their agent and workspace, and
 * returns the binds. A new volume's top directory is given to `owner` (a non-root sandbox
 * user), which could not write in it otherwise; Docker keeps that unless the image has the
 * directory, whose owner it then copies.
 */
export async function ensureConfigVolumes(
  docker: Docker,
  profile: AgentProfile,
  workspace: string,
  home: string,
  owner?: { uid: number; gid: number },
): Promise<string[]> {
  for (const v of configVolumes(profile, workspace, home)) {
    try {
      await docker.getVolume(v.name).inspect();
      continue;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    const created = (await docker.createVolume({
      Name: v.name,
      Labels: { [AGENT_LABEL]: profile.name, [WORKSPACE_LABEL]: workspace },
    })) as { Mountpoint?: string };
    if (owner && owner.uid !== 0) {
      const dir = created.Mountpoint ?? (await docker.getVolume(v.name).inspect()).Mountpoint;
      fs.chownSync(dir, owner.uid, owner.gid);
    }
  }
  return configBinds(profile, workspace, home);
}
