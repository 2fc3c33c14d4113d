/** What every lint rule is handed, and what it gives back. */
import type { PrincipalConstraint } from '@cedar-policy/cedar-wasm/nodejs';
import type { Diagnostic, Range } from '../diagnostics';
import type { Roots } from '../paths';
import type { Analysis } from '../validate';

export interface LintInput {
  file: string;
  /** Policies that checked and compiled, with the roots they were compiled for. */
  policies: Analysis['policies'];
  lines: Analysis['lines'];
  roots: Roots;
}

export type LintPolicy = Analysis['policies'][number];

export interface LintRule {
  /** Stable, documented in docs/policy.md under the same anchor. */
  code: string;
  run(input: LintInput): Diagnostic[];
}

export function warning(input: LintInput, range: Range, code: string, message: string): Diagnostic {
  return input.lines.diagnostic(input.file, range, 'warning', code, message);
}

/** Whether a forbid with principal scope `forbid` applies to every principal `permit` does. */
export function principalCovers(forbid: PrincipalConstraint, permit: PrincipalConstraint): boolean {
  return forbid.op === 'All' || JSON.stringify(forbid) === JSON.stringify(permit);
}
