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
import { checkPolicy, splitPolicies, tokenize, type Diagnostic } from '@leash/policies';
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
import { assemble, type PermitFindings } from './check-assemble';
import { CHECK_ROOTS, compileUnit, missingIdDiagnostic } from './check-unit';
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

/** Policies worked out between two turns of the event loop: 10-50 ms, more on a loaded machine. */
export const SLICE = 25;

export type Checked = CheckResult & { policies: Analysis['policies'] };

export class PolicyChecker {
  /** Keyed by the policy's text; dropped when the schema changes. */
  private units = new Map<string, Unit>();
  private readonly permitFindings: PermitFindings = { forbids: new Map(), findings: new Map() };

  constructor(private readonly schema: () => SchemaJson) {}

  /** Forgets every policy, after a schema change. */
  reset(): void {
    this.units.clear();
    this.permitFindings.findings.clear();
    this.permitFindings.forbids.clear();
  }

  /** What `checkPolicy(text, file)` says, with the compiled policies when it compiled. */
  check(text: string, file: string): Checked {
    const steps = this.steps(text, file);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The same check, with other work let in after each slice of policies, so that a large file
   * does not hold up requests. Null when `stale()` says the text changed meanwhile.
   */
  async checkInSlices(text: string, file: string, stale: () => boolean): Promise<Checked | null> {
    const steps = this.steps(text, file);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      await new Promise((next) => setImmediate(next));
      if (stale()) return null;
    }
  }

  /** The check, pausing (`yield`) after each slice of work. */
  private *steps(text: string, file: string): Generator<void, Checked> {
    const tokens = tokenize(text);
    const sources = splitPolicies(text, tokens);
    if (sources.length === 0 || !separatedCleanly(text, sources)) return wholeCheck(text, file);

    const fresh = [...new Map(sources.map((s) => [s.text, s])).values()].filter(
      (s) => !this.units.has(s.text),
    );
    for (let from = 0; from < fresh.length; from += SLICE) {
      if (from > 0) yield;
      const slice = fresh.slice(from, from + SLICE);
      for (const [source, unit] of this.computeUnits(slice)) this.units.set(source.text, unit);
    }
    const units = sources.map((s) => this.units.get(s.text) as Unit);
    if (units.some((u) => u.whole)) return wholeCheck(text, file);
    this.sweep(sources);
    return yield* assemble(text, file, sources, units, this.permitFindings);
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

function wholeCheck(text: string, file: string): Checked {
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
  // Limits first: Cedar's parser must never see text nested deeper than it can take.
  if (checkLimits(source.text, '', new LineMap(source.text))) return { ...unit, whole: true };
  const slot =
    findTokens(source.tokens, ['?', 'principal']) ?? findTokens(source.tokens, ['?', 'resource']);
  if (slot) return { ...unit, whole: true };
  const parsed = policyToJsonMemo(source.text);
  if (parsed.type !== 'success') return { ...unit, whole: true };
  unit.json = parsed.json;
  const id = parsed.json.annotations?.id;
  if (id === undefined || id === null || id === '') unit.missingId = missingIdDiagnostic(source);
  else unit.id = id;
  return unit;
}
