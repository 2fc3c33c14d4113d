/**
 * Checking a policy text: Cedar's parser, the `@id` rule, strict validation against the Leash
 * schema, and the compiler's "exact or rejected" checks, all as diagnostics with ranges.
 */
import type { DetailedError, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { cedar, policyToJsonMemo } from './cedar';
import { CompileError, patternsFor } from './compile/errors';
import { compileOne, type CompiledPolicy } from './compile/policy';
import { LineMap, type Diagnostic, type Range, type Severity } from './diagnostics';
import { checkLimits } from './limits';
import { lint } from './lint';
import type { Roots } from './paths';
import { schema } from './schema';
import { findTokens, splitPolicies, tokenize, type PolicySource } from './source';

export interface CheckResult {
  ok: boolean;
  diagnostics: Diagnostic[];
}

export interface Analysis extends CheckResult {
  policies: Array<{ source: PolicySource; json: PolicyJson; compiled: CompiledPolicy }>;
  lines: LineMap;
}

/** Placeholder roots for checking a policy outside any session: resolution cannot fail on them. */
const CHECK_ROOTS: Roots = { workspace: '/workspace', home: '/home/agent' };

export function cedarDiagnostics(
  lines: LineMap,
  file: string,
  errors: DetailedError[],
  severity: Severity,
  code: string,
  toChar: (byte: number) => number = (byte) => lines.charOffset(byte),
): Diagnostic[] {
  return errors.map((e) => {
    const loc = e.sourceLocations?.[0];
    const range = loc ? { start: toChar(loc.start), end: toChar(loc.end) } : { start: 0, end: 0 };
    const help = e.help ? ` (${e.help})` : '';
    // Cedar names policies `policy0`, `policy1`…; the range already says which one.
    const message = e.message.replace(/^for policy `[^`]*`, /, '');
    return lines.diagnostic(file, range, severity, e.code ?? code, `${message}${help}`);
  });
}

function locate(source: PolicySource, err: CompileError): Range {
  const named = err.tokens && findTokens(source.tokens, err.tokens);
  if (named) return named;
  if (err.expr) {
    // Conditions first: `principal` and `resource` also appear in the scope.
    for (const tokens of [source.conditions, source.tokens]) {
      for (const pattern of patternsFor(err.expr)) {
        const found = findTokens(tokens, pattern);
        if (found) return found;
      }
    }
  }
  return source.head;
}

/** Parses, validates and compiles every policy; stops before compiling if Cedar objects. */
export function analyse(text: string, file: string, roots: Roots): Analysis {
  const lines = new LineMap(text);
  const diagnostics: Diagnostic[] = [];
  const done = (policies: Analysis['policies']): Analysis => ({
    ok: !diagnostics.some((d) => d.severity === 'error'),
    diagnostics,
    policies,
    lines,
  });

  const limit = checkLimits(text, file, lines);
  if (limit) {
    diagnostics.push(limit);
    return done([]);
  }

  // Cedar refuses templates in a static policy set without saying where; say it here.
  const tokens = tokenize(text);
  const slot = findTokens(tokens, ['?', 'principal']) ?? findTokens(tokens, ['?', 'resource']);
  if (slot) {
    diagnostics.push(
      lines.diagnostic(
        file,
        slot,
        'error',
        'template',
        'templates are not supported: a session policy names its entities, so write ' +
          '`principal == Leash::Agent::"…"` or a resource instead of a slot.',
      ),
    );
    return done([]);
  }

  const parsed = cedar.checkParsePolicySet({ staticPolicies: text });
  if (parsed.type === 'failure') {
    diagnostics.push(...cedarDiagnostics(lines, file, parsed.errors, 'error', 'parse'));
    return done([]);
  }

  const sources = splitPolicies(text, tokens);
  const jsons: Array<{ source: PolicySource; json: PolicyJson; id: string }> = [];
  const seen = new Set<string>();
  for (const source of sources) {
    const json = policyToJsonMemo(source.text);
    if (json.type === 'failure') {
      // Offsets are into the policy alone (templates end up here: they have slots).
      const own = new LineMap(source.text);
      const toChar = (byte: number): number => source.range.start + own.charOffset(byte);
      diagnostics.push(...cedarDiagnostics(lines, file, json.errors, 'error', 'parse', toChar));
      continue;
    }
    const id = json.json.annotations?.id;
    if (id === undefined || id === '') {
      diagnostics.push(
        lines.diagnostic(
          file,
          source.head,
          'error',
          'missing-id',
          'every policy needs a unique `@id("…")` annotation: decisions name policies by it.',
        ),
      );
    } else if (seen.has(id)) {
      diagnostics.push(
        lines.diagnostic(
          file,
          source.head,
          'error',
          'duplicate-id',
          `the id "${id}" is already used by another policy: each \`@id\` must be unique.`,
        ),
      );
    } else {
      seen.add(id);
      jsons.push({ source, json: json.json, id });
    }
  }

  const validation = cedar.validate({
    schema: schema(),
    policies: { staticPolicies: text },
    validationSettings: { mode: 'strict' },
  });
  if (validation.type === 'failure') {
    diagnostics.push(...cedarDiagnostics(lines, file, validation.errors, 'error', 'schema'));
  } else {
    const errors = validation.validationErrors.map((v) => v.error);
    const warnings = validation.validationWarnings.map((v) => v.error);
    diagnostics.push(...dedupe(cedarDiagnostics(lines, file, errors, 'error', 'validation')));
    diagnostics.push(...dedupe(cedarDiagnostics(lines, file, warnings, 'warning', 'validation')));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return done([]);

  const policies: Analysis['policies'] = [];
  for (const { source, json, id } of jsons) {
    try {
      policies.push({ source, json, compiled: compileOne(id, json, roots) });
    } catch (err) {
      if (!(err instanceof CompileError)) throw err;
      diagnostics.push(lines.diagnostic(file, locate(source, err), 'error', err.code, err.message));
    }
  }
  return done(policies);
}

/** Validation reports one error per request type; one per range is enough for a reader. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.line}:${d.column}:${d.endLine}:${d.endColumn}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Checks a policy text outside any session; a policy that checks is also linted. */
export function checkPolicy(text: string, file: string): CheckResult {
  const analysis = analyse(text, file, CHECK_ROOTS);
  const { diagnostics } = analysis;
  const ok = !diagnostics.some((d) => d.severity === 'error');
  if (ok) {
    const { policies, lines } = analysis;
    diagnostics.push(...lint({ file, policies, lines, roots: CHECK_ROOTS }));
  }
  return { ok, diagnostics };
}
