/** `leash agents`: each agent with its pinned version and whether its image is built. */
import Docker from 'dockerode';
import { agentImage, agentProfile, KNOWN_AGENTS, pinnedVersions } from './index';

export interface AgentListing {
  agent: string;
  title: string;
  package: string;
  version: string;
  image: string;
  /** 'yes', 'no', or why it could not be told. */
  built: string;
}

/** `settings`: leashd's base image and Docker socket (from its settings file). */
export async function listAgents(settings: {
  image: string;
  dockerSocket: string;
}): Promise<AgentListing[]> {
  const pinned = pinnedVersions();
  const docker = new Docker({ socketPath: settings.dockerSocket });
  const built = new Map<string, string>();
  const rows: AgentListing[] = [];
  for (const name of KNOWN_AGENTS) {
    const profile = agentProfile(name);
    const image = agentImage(profile, settings.image);
    if (!built.has(image)) built.set(image, await imageState(docker, image));
    rows.push({
      agent: name,
      title: profile.title,
      package: pinned.agents[name]?.package ?? '-',
      version: pinned.agents[name]?.version ?? '-',
      image,
      built: built.get(image) ?? 'unknown',
    });
  }
  return rows;
}

async function imageState(docker: Docker, image: string): Promise<string> {
  try {
    await docker.getImage(image).inspect();
    return 'yes';
  } catch (err) {
    const e = err as { statusCode?: number; code?: string };
    if (e.statusCode === 404) return 'no';
    return `unknown (no Docker engine answers here: ${e.code ?? (err as Error).message})`;
  }
}
