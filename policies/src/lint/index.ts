/** Lint: warnings about policies that check and compile but probably do not say what was meant. */
import type { Diagnostic } from '../diagnostics';
import { broadPermit } from './broad-permit';
import { neverMatches } from './never-matches';
import { noExecPermit } from './no-exec-permit';
import type { LintInput, LintRule } from './rule';
import { secretAnyHost } from './secret-any-host';
import { secretReadable } from './secret-readable';
import { shadowedPermit } from './shadowed-permit';
import { unknownAnnotation } from './unknown-annotation';

export type { LintInput } from './rule';

export const LINT_RULES: LintRule[] = [
  shadowedPermit,
  neverMatches,
  broadPermit,
  secretReadable,
  unknownAnnotation,
  noExecPermit,
  secretAnyHost,
];

export function lint(input: LintInput): Diagnostic[] {
  return LINT_RULES.flatMap((rule) => rule.run(input)).sort(
    (a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}
