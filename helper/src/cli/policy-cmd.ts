/**
 * `leash policy check|compile|fmt|explain|test`: commands that work on a policy file alone,
 * without leashd, and `leash policy suggest`, which reads a session's events from leashd.
 * Diagnostics go to stderr as `file:line:col: severity: message [code]`.
 */
import {
  checkPolicy,
  compilePolicy,
  DEFAULT_POLICY_PATH,
  describeExecRule,
  describeHttpRule,
  describeMcpRule,
  EXAMPLE_SESSION,
  explain,
  formatDiagnostic,
  formatPolicy,
  parseExamples,
  parseRequest,
  RequestError,
  runExamples,
  seenFromEvents,
  SuggestError,
  suggestPolicy,
  type AuditEvent,
  type Diagnostic,
  type Explanation,
  type JudgeOptions,
  type PrincipalIR,
} from '@leash/policies';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPolicyFile } from './policy-source';

/** Where requests are judged: a session named like the examples', with its roots. */
export interface SessionOptions {
  workspace?: string;
  home?: string;
  session?: string;
}

/** For a repeatable option: `--principal a --principal b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function sessionOf(o: SessionOptions): JudgeOptions {
  return {
    session: o.session ?? EXAMPLE_SESSION.session,
    workspace: o.workspace ?? EXAMPLE_SESSION.workspace,
    home: o.home ?? EXAMPLE_SESSION.home,
  };
}

function printDiagnostics(diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) console.error(formatDiagnostic(d));
}

const hasErrors = (diagnostics: Diagnostic[]): boolean =>
  diagnostics.some((d) => d.severity === 'error');

export function checkCommand(file: string, o: { json?: boolean }): void {
  const source = readPolicyFile(file);
  const result = checkPolicy(source.text, source.origin);
  if (o.json) console.log(JSON.stringify({ ok: result.ok, diagnostics: result.diagnostics }));
  else {
    printDiagnostics(result.diagnostics);
    const warnings = result.diagnostics.filter((d) => d.severity === 'warning').length;
    if (result.ok) {
      console.log(
        `${source.origin}: ok${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}`,
      );
    }
  }
  if (!result.ok) process.exitCode = 1;
}

function describeRules(p: PrincipalIR): string[] {
  const lines = [`${p.principal}:`];
  for (const r of p.exec) lines.push(`  ${describeExecRule(r)}  [${r.id}]`);
  for (const r of p.http) lines.push(`  ${describeHttpRule(r)}  [${r.id}]`);
  for (const r of p.mcp) lines.push(`  ${describeMcpRule(r)}  [${r.id}]`);
  for (const r of p.files) {
    const match = r.match.map((m) => `${m.negate ? '!' : ''}${m.kind}:${m.value}`).join(' && ');
    lines.push(`  ${r.effect} ${r.access.join('+')} ${match || 'any path'}  [${r.id}]`);
  }
  for (const r of p.connects) {
    const match = r.match
      .map((m) => `${m.negate ? '!' : ''}${m.kind === 'cidr' ? m.cidr : `port:${m.lo}-${m.hi}`}`)
      .join(' && ');
    lines.push(`  ${r.effect} connect ${match || 'any endpoint'}  [${r.id}]`);
  }
  return lines;
}

export function compileCommand(
  file: string,
  o: SessionOptions & { principal?: string[]; json?: boolean },
): void {
  const source = readPolicyFile(file);
  const session = sessionOf(o);
  const principals = o.principal?.length ? o.principal : ['shell'];
  const result = compilePolicy(source.text, source.origin, { ...session, principals });
  if (o.json) console.log(JSON.stringify(result));
  else {
    printDiagnostics(result.diagnostics);
    for (const p of Object.values(result.ir?.principals ?? {})) {
      for (const line of describeRules(p)) console.log(line);
    }
  }
  if (!result.ok) process.exitCode = 1;
}

/** Writes beside the file and renames over it, so the file is never half written. */
function replaceFile(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text, { mode: fs.statSync(file).mode });
  fs.renameSync(temp, file);
}

export function fmtCommand(file: string, o: { write?: boolean; json?: boolean }): void {
  const source = readPolicyFile(file);
  const result = formatPolicy(source.text, source.origin);
  const changed = result.ok && result.text !== source.text;
  if (result.ok && o.write && changed) replaceFile(source.origin, result.text as string);

  if (o.json)
    console.log(JSON.stringify({ ...result, changed, written: Boolean(o.write && changed) }));
  else if (!result.ok) printDiagnostics(result.diagnostics);
  else if (!o.write) process.stdout.write(result.text as string);
  else console.log(`${source.origin}: ${changed ? 'formatted' : 'already formatted'}`);
  if (!result.ok) process.exitCode = 1;
}

function requestFrom(text: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`--request is not JSON: ${(err as Error).message}`);
  }
  try {
    return parseRequest(value);
  } catch (err) {
    if (err instanceof RequestError) throw new Error(`--request: ${err.message}`);
    throw err;
  }
}

function printExplanation(e: Explanation, origin: string): void {
  const ids = (v: { policies?: string[] } | undefined): string =>
    v?.policies?.length ? v.policies.join(', ') : 'none';
  const by = e.policies?.length
    ? `by ${e.policies.join(', ')}`
    : 'by default (no policy permits it)';
  console.log(`${e.request}: ${e.decision} ${e.decision === 'allow' ? `by ${ids(e)}` : by}`);
  console.log(
    `  compiled rules: ${e.ir?.decision} (${ids(e.ir)}); Cedar: ${e.cedar?.decision} (${ids(e.cedar)})`,
  );
  console.log(
    e.agree
      ? '  the compiled rules and Cedar agree'
      : '  the compiled rules and Cedar DISAGREE: this is a compiler bug, please report it',
  );
  if (e.fix?.kind === 'permit') {
    const note = e.fix.verified ? 'checked: with it, the request is allowed' : 'NOT verified';
    console.log(`to allow it, add this policy (${note}):`);
    for (const line of e.fix.policy.split('\n')) console.log(`  ${line}`);
  } else if (e.fix?.kind === 'forbid') {
    for (const f of e.fix.forbids) {
      console.log(
        f.builtin
          ? `  ${f.id} is a built-in rule: no policy can lift it`
          : `  to allow it, change or narrow forbid "${f.id}" at ${origin}:${f.line}:${f.column}`,
      );
    }
  }
}

export function explainCommand(
  file: string,
  o: SessionOptions & { request: string; json?: boolean },
): void {
  const source = readPolicyFile(file);
  const request = requestFrom(o.request);
  const result = explain(source.text, source.origin, request, sessionOf(o));
  if (o.json) console.log(JSON.stringify(result));
  else if (!result.ok) printDiagnostics(result.diagnostics);
  else printExplanation(result, source.origin);
  if (!result.ok || !result.agree) process.exitCode = 1;
}

/** `policy.cedar` → `policy.examples.json` beside it. */
export function examplesFileFor(policyFile: string): string {
  return policyFile.replace(/(\.cedar)?$/, '.examples.json');
}

export function testCommand(
  file: string,
  o: SessionOptions & { examples?: string; json?: boolean },
): void {
  const source = readPolicyFile(file);
  const examplesFile = path.resolve(o.examples ?? examplesFileFor(source.origin));
  let examplesText: string;
  try {
    examplesText = fs.readFileSync(examplesFile, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read examples ${examplesFile}: ${(err as NodeJS.ErrnoException).code ?? err} ` +
        '(write them beside the policy, or name them with --examples)',
    );
  }
  const parsed = parseExamples(examplesText, examplesFile);
  const run = runExamples(source.text, source.origin, parsed.examples, sessionOf(o));
  const diagnostics = [...parsed.diagnostics, ...run.diagnostics];
  const failed = run.results.filter((r) => !r.pass).length;
  const ok = run.ok && !hasErrors(diagnostics);

  if (o.json) {
    console.log(JSON.stringify({ ok, diagnostics, results: run.results, failed }));
  } else {
    printDiagnostics(diagnostics);
    for (const r of run.results) {
      const where = `${examplesFile}:${r.line}:${r.column}`;
      const head = `${r.pass ? 'pass' : 'FAIL'} ${r.index + 1} ${where} ${r.request} → ${r.expect}`;
      console.log(r.pass ? head : `${head}: ${r.problems.join('; ')}`);
    }
    console.log(`${run.results.length - failed} passed, ${failed} failed`);
  }
  if (!ok) process.exitCode = 1;
}

export interface SuggestOptions {
  session: string;
  base?: string;
  output?: string;
  json?: boolean;
}

/**
 * `leash policy suggest`: a policy that, added to the base, allows what the session did.
 * `events` are the session's audit events in the flat form of docs/audit.md, in order;
 * `home` is the sandbox user's home directory, which `@home` stands for.
 */
export function suggestCommand(o: SuggestOptions, events: AuditEvent[], home: string): void {
  const seen = seenFromEvents(events);
  if (seen.workspace === undefined) {
    throw new Error(
      `no start of session ${o.session} in the audit log; \`leash sessions --all\` lists ` +
        'the sessions it holds',
    );
  }
  const base = readPolicyFile(o.base ?? DEFAULT_POLICY_PATH);
  const output = o.output === undefined ? undefined : path.resolve(o.output);
  const policyFiles = [seen.policyFile, base.origin, output].filter(
    (f): f is string => f !== undefined,
  );

  let suggestion;
  try {
    suggestion = suggestPolicy({
      files: seen.files,
      connects: seen.connects,
      execs: seen.execs,
      http: seen.http,
      mcp: seen.mcp,
      base: base.text,
      baseFile: base.origin,
      session: o.session,
      workspace: seen.workspace,
      home,
      policyFiles,
    });
  } catch (err) {
    if (!(err instanceof SuggestError)) throw err;
    if (o.json)
      console.log(JSON.stringify({ ok: false, error: err.message, problems: err.problems }));
    else console.error(`leash: no policy suggested for session ${o.session}: ${err.message}`);
    process.exitCode = 1;
    return;
  }

  if (output) fs.writeFileSync(output, suggestion.text);
  const summary = {
    events: seen.events,
    requests:
      seen.files.length +
      seen.connects.length +
      seen.execs.length +
      seen.http.length +
      seen.mcp.length,
    covered: suggestion.covered,
    alreadyAllowed: suggestion.alreadyAllowed,
    policies: suggestion.ids.length,
    leftOut: suggestion.leftOut.length,
  };
  const note = seen.enforceOnly
    ? `session ${o.session} ran in enforce mode: only its denials are known, so the ` +
      'suggestion covers those (what it would have done after them was never seen); ' +
      'record mode (`leash run --mode record`) sees everything'
    : undefined;
  if (o.json) {
    console.log(
      JSON.stringify({
        ok: true,
        policy: suggestion.text,
        ids: suggestion.ids,
        base: base.origin,
        modes: seen.modes,
        note,
        summary,
        leftOut: suggestion.leftOut,
      }),
    );
    return;
  }
  if (!output) process.stdout.write(suggestion.text);
  if (note) console.error(`leash: ${note}`);
  console.error(
    `leash: ${summary.events} events (${summary.requests} distinct requests): ` +
      `${summary.covered} covered by ${summary.policies} ` +
      `polic${summary.policies === 1 ? 'y' : 'ies'}, ${summary.alreadyAllowed} allowed by ` +
      `${base.origin} already, ${summary.leftOut} left out` +
      (output ? `; written to ${output}` : ''),
  );
}
