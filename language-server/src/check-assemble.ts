/**
 * A file's findings from its policies' own, in the stages and order of `checkPolicy`: `@id`
 * problems, schema validation, compile errors, then lint, where the rules that weigh policies
 * against each other run over the whole set (permits a slice at a time: a generator that
 * pauses between slices).
 */
import { LINT_RULES, type Diagnostic } from '@leash/policies';
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { SLICE, type Checked, type Unit } from './check';
import { CHECK_ROOTS, duplicateIdDiagnostic, PERMIT_RULES, WHOLE_SET_RULES } from './check-unit';
import { LineMap, type Analysis, type CompiledPolicy } from './core';
import type { PolicySource } from './policy-text';

type Policy = Analysis['policies'][number];

/**
 * Findings of the permit rules per permit, in its own coordinates, and the forbids they were
 * worked out against, by kind of request. A permit's findings depend only on the forbids of
 * the kinds it names itself (reads on read forbids, connects on connect forbids…), so a
 * changed forbid re-checks only the permits of its kinds.
 */
export interface PermitFindings {
  forbids: Map<string, Set<Unit>>;
  findings: Map<Unit, Diagnostic[]>;
}

/** The kinds of request a compiled policy names: each file access, then each other action. */
function kindsOf(c: CompiledPolicy | null): string[] {
  if (!c) return [];
  const kinds: string[] = [...(c.files?.access ?? [])];
  if (c.connects) kinds.push('connect');
  if (c.exec) kinds.push('exec');
  if (c.http) kinds.push('http');
  if (c.mcp) kinds.push('mcp');
  return kinds;
}

function forbidsByKind(units: Unit[]): Map<string, Set<Unit>> {
  const byKind = new Map<string, Set<Unit>>();
  for (const u of units.filter((u) => u.compiled?.effect === 'forbid')) {
    for (const kind of kindsOf(u.compiled))
      byKind.set(kind, (byKind.get(kind) ?? new Set()).add(u));
  }
  return byKind;
}

/** Drops the findings of permits whose kinds of forbid changed since they were worked out. */
function forgetChanged(known: PermitFindings, units: Unit[]): void {
  const now = forbidsByKind(units);
  const same = (a: Set<Unit> = new Set(), b: Set<Unit> = new Set()) =>
    a.size === b.size && [...a].every((u) => b.has(u));
  const kinds = new Set([...known.forbids.keys(), ...now.keys()]);
  const changed = [...kinds].filter((k) => !same(known.forbids.get(k), now.get(k)));
  known.forbids = now;
  if (known.findings.size > 2 * units.length + 256) known.findings.clear();
  if (changed.length === 0) return;
  for (const unit of [...known.findings.keys()]) {
    if (kindsOf(unit.compiled).some((k) => changed.includes(k))) known.findings.delete(unit);
  }
}

/** Whether a finding starts inside a range of the file. */
function inside(d: Diagnostic, lines: LineMap, range: { start: number; end: number }): boolean {
  type At = { line: number; column: number };
  const upTo = (a: At, b: At): boolean =>
    a.line < b.line || (a.line === b.line && a.column <= b.column);
  return upTo(lines.position(range.start), d) && upTo(d, lines.position(range.end));
}

/** A finding in the file moved into the coordinates of the policy starting at `at`. */
function toOwn(d: Diagnostic, at: { line: number; column: number }): Diagnostic {
  const shift = (line: number, column: number) => ({
    line: line - at.line + 1,
    column: line === at.line ? column - at.column + 1 : column,
  });
  const start = shift(d.line, d.column);
  const end = shift(d.endLine, d.endColumn);
  return { ...d, line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}

/** The file's findings from its policies' own, in the order and stages of `checkPolicy`. */
export function* assemble(
  text: string,
  file: string,
  sources: PolicySource[],
  units: Unit[],
  known: PermitFindings,
): Generator<void, Checked> {
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
  const found = units.flatMap((u, i) => u.lint.map((d) => place(d, i)));
  const input = (some: Analysis['policies']) => ({
    file,
    policies: some,
    lines,
    roots: CHECK_ROOTS,
  });
  for (const rule of LINT_RULES.filter((r) => WHOLE_SET_RULES.has(r.code))) {
    found.push(...rule.run(input(policies)));
  }
  // A permit's findings under these rules depend on it and the forbids of its kinds alone:
  // they are kept while those stay the same, and worked out again a slice at a time.
  forgetChanged(known, units);
  const permits = policies.flatMap((p, i) => (p.compiled.effect === 'permit' ? [i] : []));
  const forbids = policies.filter((p) => p.compiled.effect === 'forbid');
  const fresh = permits.filter((i) => !known.findings.has(units[i] as Unit));
  for (let from = 0; from < fresh.length; from += SLICE) {
    if (from > 0) yield;
    const slice = fresh.slice(from, from + SLICE);
    const some = [...slice.map((i) => policies[i] as Policy), ...forbids];
    const own = new Map<number, Diagnostic[]>(slice.map((i) => [i, []]));
    for (const rule of LINT_RULES.filter((r) => PERMIT_RULES.has(r.code))) {
      for (const d of rule.run(input(some))) {
        const i = slice.find((k) => inside(d, lines, (sources[k] as PolicySource).range));
        if (i === undefined) throw new Error(`lint ${d.code} reported outside its permit`);
        own.get(i)?.push(toOwn(d, lines.position((sources[i] as PolicySource).range.start)));
      }
    }
    for (const [i, list] of own) known.findings.set(units[i] as Unit, list);
  }
  for (const i of permits) {
    found.push(...(known.findings.get(units[i] as Unit) ?? []).map((d) => place(d, i)));
  }
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
