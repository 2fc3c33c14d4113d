/**
 * Which policies shadow which: a permit never takes effect when forbids match every request it
 * matches (a forbid always wins). Decided by the policy core's own rule for that (lint L001),
 * asked about one permit and one forbid at a time, and about a permit and all forbids together.
 */
import { LINT_RULES } from '@leash/policies';
import type { Checked } from './documents';
import { LineMap, type Analysis } from './core';
import { CHECK_ROOTS } from './check-unit';

type Policy = Analysis['policies'][number];

/** More forbids than this together are not taken apart into the ones that matter. */
const MAX_TOGETHER = 64;

export interface Shadowing {
  /** Forbids each of which alone matches every request this permit matches. */
  shadowedBy: string[];
  /** Forbids that only together match every request this permit matches (none alone does). */
  shadowedByTogether: string[];
  /** Covered by forbids together, but by more than are taken apart into the ones that matter. */
  shadowedByMany: boolean;
  /** Permits this forbid alone leaves without effect. */
  shadows: string[];
}

const rule = LINT_RULES.find((r) => r.code === 'L001');

/** How the policy `id` of a checked file shadows or is shadowed; null if it did not compile. */
export function shadowing(checked: Checked, text: string, id: string): Shadowing | null {
  if (!rule) throw new Error('the policy core has no lint rule L001 (shadowed permits)');
  const policy = checked.policies.find((p) => p.compiled.id === id);
  if (!policy) return null;
  const lines = new LineMap(text);
  const fires = (permit: Policy, forbids: Policy[]): boolean =>
    rule.run({ file: '', policies: [permit, ...forbids], lines, roots: CHECK_ROOTS }).length > 0;
  const others = checked.policies.filter((p) => p !== policy);
  const found: Shadowing = {
    shadowedBy: [],
    shadowedByTogether: [],
    shadowedByMany: false,
    shadows: [],
  };

  if (policy.compiled.effect === 'forbid') {
    const permits = others.filter((p) => p.compiled.effect === 'permit');
    found.shadows = permits.filter((p) => fires(p, [policy])).map((p) => p.compiled.id);
    return found;
  }
  const forbids = others.filter((p) => p.compiled.effect === 'forbid');
  found.shadowedBy = forbids.filter((f) => fires(policy, [f])).map((f) => f.compiled.id);
  if (found.shadowedBy.length > 0 || !fires(policy, forbids)) return found;
  // Only together: name the forbids without which the permit would take effect somewhere.
  found.shadowedByTogether =
    forbids.length > MAX_TOGETHER
      ? ['(more forbids together than are taken apart here)']
      : forbids
          .filter(
            (f) =>
              !fires(
                policy,
                forbids.filter((g) => g !== f),
              ),
          )
          .map((f) => f.compiled.id);
  return found;
}

/** The hover's lines about shadowing. */
export function describeShadowing(s: Shadowing | null, effect: string): string[] {
  if (s === null) return ['Shadowing: not known until the file checks without errors.'];
  const ids = (list: string[]) => list.map((id) => `\`${id}\``).join(', ');
  const lines: string[] = [];
  if (s.shadowedBy.length > 0) {
    lines.push(
      `- never takes effect: forbid ${ids(s.shadowedBy)} matches every request it matches, ` +
        'and a forbid always wins',
    );
  }
  if (s.shadowedByTogether.length > 0) {
    lines.push(
      `- never takes effect: forbids ${ids(s.shadowedByTogether)} together match every ` +
        'request it matches',
    );
  }
  if (s.shadowedByMany) {
    lines.push(
      '- never takes effect: the forbids of this file together match every request it matches',
    );
  }
  if (s.shadows.length > 0) {
    lines.push(`- leaves permit ${ids(s.shadows)} without effect: it forbids all they permit`);
  }
  if (lines.length === 0) {
    lines.push(
      effect === 'forbid'
        ? '- no permit is left without effect by this forbid alone'
        : '- no forbid takes away everything this permit allows',
    );
  }
  return ['Shadowing:', '', ...lines];
}
