/**
 * Paths a suggestion must never open on its own, even where the base policy does not forbid
 * them: credentials and environment files, and workspace files that change how tools,
 * editors, agents or Leash behave. They also serve as the sample of protected paths the check
 * probes.
 */
import type { FileAccess } from '../ir';
import { ANYWHERE_SECRETS, HOME_SECRETS } from '../lint/secret-readable';
import { isAtOrBelow, type Roots } from '../paths';

/** Written in the workspace, these run code or change settings of tools on the host. */
const CONFIG_TAILS = [
  '.git/hooks',
  '.git/config',
  '.leash',
  '.vscode',
  '.devcontainer',
  '.mcp.json',
  '.claude',
  '.codex',
  '.gemini',
  '.qwen',
  '.opencode',
];

const under = (dir: string, tail: string): string => (dir === '/' ? `/${tail}` : `${dir}/${tail}`);

/** Whether `path` is `…/tail` or below it, in any directory. */
function hasTail(path: string, tail: string): boolean {
  return path.endsWith('/' + tail) || path.includes('/' + tail + '/');
}

/**
 * Why a path is sensitive for an access, or undefined when it is not. Reading exposes
 * environment files and credentials wherever they are; writing matters for the home's
 * credentials and for workspace files that the host's tools and agents act on.
 */
export function sensitive(path: string, access: FileAccess, roots: Roots): string | undefined {
  if (access === 'read') {
    if (path.slice(path.lastIndexOf('/') + 1).endsWith('.env')) return 'an environment file';
    if (HOME_SECRETS.some((tail) => hasTail(path, tail))) return 'a secret-like path';
    return undefined;
  }
  if (HOME_SECRETS.some((tail) => isAtOrBelow(path, under(roots.home, tail)))) {
    return 'a secret-like path';
  }
  if (CONFIG_TAILS.some((t) => isAtOrBelow(path, under(roots.workspace, t)))) {
    return 'a workspace file that changes how tools or agents behave';
  }
  return undefined;
}

/** Paths to probe below a directory: secrets that may sit in any directory. */
function probesBelow(dir: string): string[] {
  return [...ANYWHERE_SECRETS.map((t) => under(dir, t)), under(dir, 'prod.env')];
}

/**
 * The sample of protected paths for a session: the policy files, the home's credentials, the
 * workspace's tool settings, and secrets in the workspace, the home and every directory given.
 */
export function protectedSample(roots: Roots, dirs: string[], policyFiles: string[]): string[] {
  const out = new Set<string>(policyFiles);
  for (const tail of HOME_SECRETS) out.add(under(roots.home, tail));
  for (const tail of CONFIG_TAILS) {
    out.add(under(roots.workspace, tail));
    out.add(under(roots.workspace, `${tail}/x`));
  }
  for (const dir of [roots.workspace, roots.home, ...dirs]) {
    for (const p of probesBelow(dir)) out.add(p);
  }
  return [...out];
}
