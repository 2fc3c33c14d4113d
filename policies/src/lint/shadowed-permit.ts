/** L001: a permit that can never decide anything, because forbids cover all it allows. */
import { covers, type Matcher } from './matchers';
import { ruleCovers, type Rule } from './string-matchers';
import { principalCovers, warning, type LintPolicy, type LintRule } from './rule';

/** The forbids that together cover every request `permit` matches, or null if some escape. */
function shadowedBy(permit: LintPolicy, forbids: LintPolicy[]): string[] | null {
  const p = permit.compiled;
  const by = new Set<string>();
  const covered = (alternative: Matcher[], rulesOf: (f: LintPolicy) => Matcher[][]): boolean => {
    const forbid = forbids.find((f) => rulesOf(f).some((wide) => covers(wide, alternative)));
    if (forbid) by.add(forbid.compiled.id);
    return forbid !== undefined;
  };

  for (const access of p.files?.access ?? []) {
    const rulesOf = (f: LintPolicy): Matcher[][] =>
      f.compiled.files?.access.includes(access) ? f.compiled.files.alternatives : [];
    if (!(p.files?.alternatives ?? []).every((alt) => covered(alt, rulesOf))) return null;
  }
  if (!(p.connects ?? []).every((alt) => covered(alt, (f) => f.compiled.connects ?? []))) {
    return null;
  }
  const coveredRule = (alternative: Rule[], rulesOf: (f: LintPolicy) => Rule[][]): boolean => {
    const forbid = forbids.find((f) => rulesOf(f).some((wide) => ruleCovers(wide, alternative)));
    if (forbid) by.add(forbid.compiled.id);
    return forbid !== undefined;
  };
  if (!(p.exec ?? []).every((alt) => coveredRule(alt, (f) => f.compiled.exec ?? []))) return null;
  const http = (f: LintPolicy) => f.compiled.http?.alternatives ?? [];
  if (!(p.http?.alternatives ?? []).every((alt) => coveredRule(alt, http))) return null;
  if (!(p.mcp ?? []).every((alt) => coveredRule(alt, (f) => f.compiled.mcp ?? []))) return null;

  // A permit that matches nothing at all is L002's finding, not this one.
  return by.size ? [...by].sort() : null;
}

export const shadowedPermit: LintRule = {
  code: 'L001',
  run(input) {
    const permits = input.policies.filter((p) => p.compiled.effect === 'permit');
    const allForbids = input.policies.filter((f) => f.compiled.effect === 'forbid');
    const covering = new Map<string, LintPolicy[]>();
    return permits.flatMap((permit) => {
      const key = JSON.stringify(permit.compiled.principal);
      const forbids =
        covering.get(key) ??
        allForbids.filter((f) => principalCovers(f.compiled.principal, permit.compiled.principal));
      covering.set(key, forbids);
      const by = shadowedBy(permit, forbids);
      if (!by) return [];
      const names = by.map((id) => `"${id}"`).join(', ');
      return [
        warning(
          input,
          permit.source.head,
          'L001',
          `permit "${permit.compiled.id}" never allows anything: every request it matches is ` +
            `also matched by forbid ${names}, and a forbid always wins. Remove the permit, or ` +
            'narrow the forbid if the permit is meant to take effect.',
        ),
      ];
    });
  },
};
