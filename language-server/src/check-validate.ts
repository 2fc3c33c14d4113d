/**
 * Cedar's strict validation of several policies in one call (each call parses the schema
 * again, so one call for all new policies is much cheaper than one each). Cedar validates each
 * policy on its own; its findings are handed back to the policy they belong to, in that
 * policy's coordinates, with Cedar's name for it left open (`\u0000`).
 */
import type { Diagnostic } from '@leash/policies';
import type { DetailedError, ValidationError } from '@cedar-policy/cedar-wasm/nodejs';
import type { Unit } from './check';
import { cedar, cedarDiagnostics, LineMap } from './core';

export type SchemaJson = Parameters<typeof cedar.validate>[0]['schema'];

export interface Validated {
  text: string;
  unit: Unit;
}

export function validateUnits(schema: SchemaJson, items: Validated[]): void {
  if (items.length === 0) return;
  const starts: number[] = [];
  let bytes = 0;
  for (const { text } of items) {
    starts.push(bytes);
    bytes += Buffer.byteLength(text, 'utf8') + 1;
  }
  const answer = cedar.validate({
    schema,
    policies: { staticPolicies: items.map((i) => i.text).join('\n') },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    // Not a finding about a policy (the schema did not load): the core checks the file whole.
    for (const item of items) item.unit.whole = true;
    return;
  }
  const into = (errors: ValidationError[], pick: (u: Unit) => Diagnostic[], warn: boolean) => {
    const byPolicy = new Map<number, DetailedError[]>();
    for (const { policyId, error } of errors) {
      const index = Number(/^policy(\d+)$/.exec(policyId)?.[1] ?? NaN);
      if (!(index in items)) throw new Error(`Cedar named an unknown policy ${policyId}`);
      byPolicy.set(index, [...(byPolicy.get(index) ?? []), error]);
    }
    for (const [index, found] of byPolicy) {
      const { text, unit } = items[index] as Validated;
      const lines = new LineMap(text);
      const toChar = (byte: number): number => lines.charOffset(byte - (starts[index] ?? 0));
      const severity = warn ? 'warning' : 'error';
      const diagnostics = cedarDiagnostics(lines, '', found, severity, 'validation', toChar);
      const name = `\`policy${index}\``;
      pick(unit).push(
        ...dedupe(diagnostics).map((d) => ({
          ...d,
          message: d.message.replaceAll(name, '`\u0000`'),
        })),
      );
    }
  };
  into(answer.validationErrors, (u) => u.validationErrors, false);
  into(answer.validationWarnings, (u) => u.validationWarnings, true);
}

/** Cedar reports one error per request type; the core keeps one per range, and so does this. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.line}:${d.column}:${d.endLine}:${d.endColumn}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
