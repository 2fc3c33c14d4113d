/**
 * The parts of one policy's check that are not Cedar's validation: its `@id` findings and its
 * compiled form (or why it cannot be compiled), with the lint rules that look at it alone.
 * Messages and ranges come from the policy core, so they read exactly as `leash policy check`.
 */
import { LINT_RULES, splitPolicies, type Diagnostic } from '@leash/policies';
import type { Unit } from './check';
import { analyse, CompileError, compileOne, LineMap } from './core';
import type { PolicySource } from './policy-text';

/** Lint rules whose finding depends on the whole set (no permit of Exec anywhere). */
export const WHOLE_SET_RULES = new Set(['L006']);
/** Lint rules whose finding on a permit depends on the forbids (shadowed, secrets readable). */
export const PERMIT_RULES = new Set(['L001', 'L004']);

/** The roots `checkPolicy` compiles for outside any session. */
export const CHECK_ROOTS = { workspace: '/workspace', home: '/home/agent' };
const ID_PLACEHOLDER = '\u0001';

/** The core's message for `code`, read once from its check of a small text that has it. */
function messageOf(text: string, code: string): string {
  const found = analyse(text, '', CHECK_ROOTS).diagnostics.find((d) => d.code === code);
  if (!found) throw new Error(`the policy core no longer reports ${code} for ${text}`);
  return found.message;
}

let messages: { missing: string; duplicate: string } | undefined;
function idMessages(): { missing: string; duplicate: string } {
  const twice = `@id("${ID_PLACEHOLDER}") forbid (principal, action, resource);\n`.repeat(2);
  messages ??= {
    missing: messageOf('forbid (principal, action, resource);', 'missing-id'),
    duplicate: messageOf(twice, 'duplicate-id'),
  };
  return messages;
}

/** A policy without `@id`, in the policy's own coordinates. */
export function missingIdDiagnostic(source: PolicySource): Diagnostic {
  const own = new LineMap(source.text);
  return own.diagnostic(
    '',
    ownRange(source, source.head),
    'error',
    'missing-id',
    idMessages().missing,
  );
}

/** A policy whose `@id` an earlier one already has, in the file's coordinates. */
export function duplicateIdDiagnostic(
  lines: InstanceType<typeof LineMap>,
  file: string,
  source: PolicySource,
  id: string,
): Diagnostic {
  const message = idMessages().duplicate.replace(ID_PLACEHOLDER, id);
  return lines.diagnostic(file, source.head, 'error', 'duplicate-id', message);
}

/** Compiles a policy that validated, and lints it alone; or records why it cannot compile. */
export function compileUnit(source: PolicySource, unit: Unit, roots = CHECK_ROOTS): void {
  if (unit.id === null || unit.json === null || unit.validationErrors.length > 0) return;
  const lines = new LineMap(source.text);
  try {
    unit.compiled = compileOne(unit.id, unit.json, roots);
  } catch (err) {
    if (!(err instanceof CompileError)) throw err;
    // The core locates the offending expression; it does so when it checks the policy alone.
    const located = analyse(source.text, '', roots).diagnostics.find(
      (d) => d.code === err.code && d.message === err.message,
    );
    unit.compileError =
      located ??
      lines.diagnostic('', ownRange(source, source.head), 'error', err.code, err.message);
    return;
  }
  const own = splitPolicies(source.text)[0] as PolicySource;
  const input = {
    file: '',
    policies: [{ source: own, json: unit.json, compiled: unit.compiled }],
    lines,
    roots,
  };
  const alone = (code: string) => !WHOLE_SET_RULES.has(code) && !PERMIT_RULES.has(code);
  unit.lint = LINT_RULES.filter((r) => alone(r.code)).flatMap((r) => r.run(input));
}

function ownRange(source: PolicySource, range: { start: number; end: number }) {
  return { start: range.start - source.range.start, end: range.end - source.range.start };
}
