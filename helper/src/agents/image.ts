/** The pinned agent versions and the tag of the agents image they give. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const VERSIONS_FILE = path.join(REPO, 'helper', 'src', 'agents', 'versions.json');
const DOCKERFILE = path.join(REPO, 'helper', 'images', 'agents.Dockerfile');
const BASE_SCRIPT = path.join(REPO, 'scripts', 'build-base-image.sh');

export interface PinnedVersions {
  node: string;
  npm: string;
  agents: Record<string, { package: string; version: string }>;
}

export function pinnedVersions(): PinnedVersions {
  return JSON.parse(fs.readFileSync(VERSIONS_FILE, 'utf8')) as PinnedVersions;
}

/** `leash/agents:<hash>`, the hash over what the image is built from; the same as
 *  `scripts/build-agent-image.sh --print-tag`. */
export function agentImageTag(): string {
  const hash = crypto.createHash('sha256');
  for (const file of [BASE_SCRIPT, DOCKERFILE, VERSIONS_FILE]) hash.update(fs.readFileSync(file));
  return `leash/agents:${hash.digest('hex').slice(0, 12)}`;
}
