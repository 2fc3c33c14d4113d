/**
 * Checking a policy file one policy at a time. `leash policy check` parses and validates the
 * whole text on every call, which takes about 300 ms at 2,000 policies; an editor changes one
 * policy at a time. So each policy's own findings (limits, parse, `@id`, schema validation,
 * compile, the lint rules that look at one policy) are kept by its text, and only what spans
 * policies (duplicate ids, the lint rules over the whole set) is worked out again per check.
 * The result is the one `checkPolicy` gives for the whole text, stage for stage: an error in
 * one stage hides the later ones, as there. Text that Cedar would read differently as a whole
 * (anything but blanks and comments between policies, or a policy that does not parse alone)
 * is checked whole.
 */
import { checkPolicy, LINT_RULES, splitPolicies, tokenize, type Diagnostic } from '@leash/policies';
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicySource } from './policy-text';
import {
  checkLimits,
  findTokens,
  isWellFormed,
  LineMap,
  policyToJsonMemo,
  type Analysis,
  type CheckResult,
  type CompiledPolicy,
} from './core';
import {
  CHECK_ROOTS,
  compileUnit,
  duplicateIdDiagnostic,
  missingIdDiagnostic,
  WHOLE_SET_RULES,
} from './check-unit';
import { validateUnits, type SchemaJson } from './check-validate';

/** What one policy says about itself, in its own coordinates (line 1 is its first line). */
export interface Unit {
  /** Limits, a slot or a parse error: the whole text must go to the core as it is. */
  whole: boolean;
  json: PolicyJson | null;
  id: string | null;
  missingId: Diagnostic | null;
  /** Cedar's name for the policy is written `\u0000` here, replaced by its name in the file. */
  validationErrors: Diagnostic[];
  validationWarnings: Diagnostic[];
  compiled: CompiledPolicy | null;
  compileError: Diagnostic | null;
  lint: Diagnostic[];
}

export class PolicyChecker {
  /** Keyed by the policy's text; dropped when the schema changes. */
  private units = new Map<string, Unit>();

  constructor(private readonly schema: () => SchemaJson) {}

  /** Forgets every policy, after a schema change. */
  reset(): void {
    this.units.clear();
  }

  /** What `checkPolicy(text, file)` says, with the compiled policies when it compiled. */
  check(text: string, file: string): CheckResult & { policies: Analysis['policies'] } {
    const tokens = tokenize(text);
    const sources = splitPolicies(text, tokens);
    if (sources.length === 0 || !separatedCleanly(text, sources)) return wholeCheck(text, file);

    const fresh = sources.filter((s) => !this.units.has(s.text));
    for (const [source, unit] of this.computeUnits(fresh)) this.units.set(source.text, unit);
    const units = sources.map((s) => this.units.get(s.text) as Unit);
    if (units.some((u) => u.whole)) return wholeCheck(text, file);
    this.sweep(sources);
    return assemble(text, file, sources, units);
  }

  private computeUnits(sources: PolicySource[]): Array<[PolicySource, Unit]> {
    const units = sources.map((source) => [source, parseUnit(source)] as [PolicySource, Unit]);
    const parsed = units.filter(([, u]) => !u.whole);
    validateUnits(
      this.schema(),
      parsed.map(([s, u]) => ({ text: s.text, unit: u })),
    );
    for (const [source, unit] of parsed) compileUnit(source, unit, CHECK_ROOTS);
    return units;
  }

  /** Keeps the cache to about the policies in use, so a long session does not grow it. */
  private sweep(sources: PolicySource[]): void {
    if (this.units.size <= 2 * sources.length + 256) return;
    const keep = new Map<string, Unit>();
    for (const s of sources) keep.set(s.text, this.units.get(s.text) as Unit);
    this.units = keep;
  }
}

/** What lies between policies holds only blanks and comments (else Cedar sees more text). */
function separatedCleanly(text: string, sources: PolicySource[]): boolean {
  let from = 0;
  const between = /^(?:[ \t\r\n]|\/\/[^\n]*)*$/;
  for (const end of [...sources.map((s) => s.range), { start: text.length, end: text.length }]) {
    const gap = text.slice(from, end.start);
    if (!between.test(gap) || !isWellFormed(gap)) return false;
    from = end.end;
  }
  return true;
}

function wholeCheck(text: string, file: string): CheckResult & { policies: [] } {
  return { ...checkPolicy(text, file), policies: [] };
}

/** A policy's limits, slots, parse and `@id`, in its own coordinates. */
function parseUnit(source: PolicySource): Unit {
  const unit: Unit = {
    whole: false,
    json: null,
    id: null,
    missingId: null,
    validationErrors: [],
    validationWarnings: [],
    compiled: null,
    compileError: null,
    lint: [],
  };
  const slot =
    findTokens(source.tokens, ['?', 'principal']) ?? findTokens(source.tokens, ['?', 'resource']);
  const parsed = policyToJsonMemo(source.text);
  if (slot || checkLimits(source.text, '', new LineMap(source.text)) || parsed.type !== 'success') {
    return { ...unit, whole: true };
  }
  unit.json = parsed.json;
  const id = parsed.json.annotations?.id;
  if (id === undefined || id === null || id === '') unit.missingId = missingIdDiagnostic(source);
  else unit.id = id;
  return unit;
}

/** The file's findings from its policies' own, in the order and stages of `checkPolicy`. */
function assemble(
  text: string,
  file: string,
  sources: PolicySource[],
  units: Unit[],
): CheckResult & { policies: Analysis['policies'] } {
  const lines = new LineMap(text);
  const place = (d: Diagnostic, i: number): Diagnostic =>
    moved(d, lines.position((sources[i] as PolicySource).range.start), file);
  const named = (d: Diagnostic, i: number): Diagnostic => {
    const found = place(d, i);
    return { ...found, message: found.message.replaceAll('\u0000', `policy${i}`) };
  };
  const diagnostics: Diagnostic[] = [];
  const result = (policies: Analysis['policies']) => ({
    ok: !diagnostics.some((d) => d.severity === 'error'),
    diagnostics,
    policies,
  });

  const seen = new Set<string>();
  units.forEach((unit, i) => {
    if (unit.missingId) diagnostics.push(place(unit.missingId, i));
    else if (unit.id !== null && seen.has(unit.id)) {
      diagnostics.push(duplicateIdDiagnostic(lines, file, sources[i] as PolicySource, unit.id));
    } else if (unit.id !== null) seen.add(unit.id);
  });
  units.forEach((u, i) => diagnostics.push(...u.validationErrors.map((d) => named(d, i))));
  units.forEach((u, i) => diagnostics.push(...u.validationWarnings.map((d) => named(d, i))));
  if (diagnostics.some((d) => d.severity === 'error')) return result([]);

  units.forEach((u, i) => u.compileError && diagnostics.push(place(u.compileError, i)));
  if (diagnostics.some((d) => d.severity === 'error')) return result([]);

  const policies = units.map((u, i) => ({
    source: sources[i] as PolicySource,
    json: u.json as PolicyJson,
    compiled: u.compiled as CompiledPolicy,
  }));
  const input = { file, policies, lines, roots: CHECK_ROOTS };
  const found = [
    ...units.flatMap((u, i) => u.lint.map((d) => place(d, i))),
    ...LINT_RULES.filter((r) => WHOLE_SET_RULES.has(r.code)).flatMap((r) => r.run(input)),
  ];
  found.sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
  diagnostics.push(...found);
  return result(policies);
}

/** A finding of one policy, moved to where the policy starts in the file. */
function moved(d: Diagnostic, at: { line: number; column: number }, file: string): Diagnostic {
  const shift = (line: number, column: number) => ({
    line: at.line + line - 1,
    column: line === 1 ? at.column + column - 1 : column,
  });
  const start = shift(d.line, d.column);
  const end = shift(d.endLine, d.endColumn);
  return {
    ...d,
    file,
    line: start.line,
    column: start.column,
    endLine: end.line,
    endColumn: end.column,
  };
}
