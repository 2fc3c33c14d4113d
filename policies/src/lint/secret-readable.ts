/**
 * L004: a permit that lets an agent read where secrets usually live (SSH keys, cloud
 * credentials, `.env` files) with no forbid covering it. The rule probes each permit with
 * typical secret paths: credentials in the home directory, `.env` files in the workspace, the
 * home directory and every directory a permit opens, and any file a permit names that looks
 * like one of them.
 */
import { pathHolds } from '../decide';
import type { PathMatcher } from '../ir';
import type { Roots } from '../paths';
import { principalCovers, warning, type LintPolicy, type LintRule } from './rule';

/** Credentials kept in a home directory (the first file of each is enough to probe). */
export const HOME_SECRETS = [
  '.ssh/id_rsa',
  '.ssh/id_ed25519',
  '.aws/credentials',
  '.config/gcloud/application_default_credentials.json',
  '.azure/msal_token_cache.json',
  '.kube/config',
  '.docker/config.json',
  '.netrc',
  '.npmrc',
  '.pypirc',
  '.gnupg/private-keys-v1.d',
  '.git-credentials',
  '.config/gh/hosts.yml',
  '.vault-token',
];
/** Secrets found in any directory. */
export const ANYWHERE_SECRETS = ['.env'];

const MAX_EXAMPLES = 3;

const under = (dir: string, tail: string): string => (dir === '/' ? `/${tail}` : `${dir}/${tail}`);

function reads(p: LintPolicy): PathMatcher[][] {
  return p.compiled.files?.access.includes('read') ? p.compiled.files.alternatives : [];
}

const matches = (alternatives: PathMatcher[][], path: string): boolean =>
  alternatives.some((alt) => alt.every((m) => pathHolds(m, path)));

/** Secret paths to probe for one permit: in the home directory, and beside what it names. */
function probes(roots: Roots, permit: LintPolicy): string[] {
  const out = new Set<string>();
  for (const tail of [...HOME_SECRETS, ...ANYWHERE_SECRETS]) out.add(under(roots.home, tail));
  const dirs = new Set([roots.workspace]);
  for (const m of reads(permit).flat()) {
    if (m.negate) continue;
    if (m.kind === 'prefix') dirs.add(m.value);
    if (m.kind === 'exact' && isSecretLike(m.value)) out.add(m.value);
  }
  for (const dir of dirs) for (const tail of ANYWHERE_SECRETS) out.add(under(dir, tail));
  return [...out];
}

function isSecretLike(path: string): boolean {
  return [...HOME_SECRETS, ...ANYWHERE_SECRETS].some((tail) => path.endsWith('/' + tail));
}

export const secretReadable: LintRule = {
  code: 'L004',
  run(input) {
    const permits = input.policies.filter((p) => p.compiled.effect === 'permit');
    const forbids = input.policies.filter((f) => f.compiled.effect === 'forbid');
    // Permits share a handful of principal scopes; the forbids covering each are found once.
    const covering = new Map<string, PathMatcher[][]>();
    const coveringFor = (permit: LintPolicy): PathMatcher[][] => {
      const key = JSON.stringify(permit.compiled.principal);
      let found = covering.get(key);
      if (!found) {
        found = forbids
          .filter((f) => principalCovers(f.compiled.principal, permit.compiled.principal))
          .flatMap(reads);
        covering.set(key, found);
      }
      return found;
    };
    return permits.flatMap((permit) => {
      const open = probes(input.roots, permit).filter(
        (path) => matches(reads(permit), path) && !matches(coveringFor(permit), path),
      );
      if (open.length === 0) return [];
      const shown = open.slice(0, MAX_EXAMPLES).join(', ');
      const more = open.length > MAX_EXAMPLES ? ` and ${open.length - MAX_EXAMPLES} more` : '';
      return [
        warning(
          input,
          permit.source.head,
          'L004',
          `permit "${permit.compiled.id}" lets agents read secret-like paths that no forbid ` +
            `covers: ${shown}${more}. Add a forbid for them (see the default policy's ` +
            '"home-secrets" and "env-files"), or narrow the permit.',
        ),
      ];
    });
  },
};
