/**
 * The check a suggestion must pass before it is offered: base and suggestion together compile,
 * hold exactly the suggested policies on top of the base, allow every covered request (in the
 * compiled rules and in Cedar), and keep denied every request left out and every protected
 * path the base denies.
 */
import { policyAnnotations } from '../annotations';
import { builtinRules } from '../builtin';
import { compilePolicy } from '../compile';
import { decideConnect, decideExec, decideFile, decideHttp, decideMcp } from '../decide';
import type { FileAccess, PrincipalIR, Verdict } from '../ir';
import { authorize } from '../oracle';
import type { Roots } from '../paths';

export interface Session extends Roots {
  session: string;
  /** Policy files the built-in rule protects (the session's, the base, the output). */
  policyFiles: string[];
}

export type Probe =
  | { principal: string; kind: 'file'; path: string; access: FileAccess }
  | { principal: string; kind: 'connect'; ip: string; port: number }
  | { principal: string; kind: 'exec'; program: string; argv: string[] }
  | { principal: string; kind: 'http'; host: string; port: number; method: string; path: string }
  | { principal: string; kind: 'mcp'; server: string; tool: string; arguments: string };

/** Compiled rules per principal, with the built-in rules for every policy file. */
export function compileFor(
  text: string,
  file: string,
  principals: string[],
  s: Session,
): { rules: Map<string, PrincipalIR>; errors: string[] } {
  const result = compilePolicy(text, file, {
    session: s.session,
    principals,
    workspace: s.workspace,
    home: s.home,
  });
  const errors = result.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
  const rules = new Map<string, PrincipalIR>();
  if (!result.ok || !result.ir) return { rules, errors };
  const builtins = [
    ...builtinRules({ workspace: s.workspace }),
    ...s.policyFiles.flatMap((policyFile) =>
      builtinRules({ workspace: s.workspace, policyFile }).slice(1),
    ),
  ];
  for (const [name, ir] of Object.entries(result.ir.principals)) {
    rules.set(name, { ...ir, files: [...ir.files.filter((r) => !isBuiltin(r.id)), ...builtins] });
  }
  return { rules, errors };
}

const isBuiltin = (id: string): boolean => id.startsWith('leash:builtin/');

export function decide(rules: Map<string, PrincipalIR>, p: Probe): Verdict {
  const ir = rules.get(p.principal);
  if (!ir) throw new Error(`no rules compiled for principal ${p.principal}`);
  switch (p.kind) {
    case 'file':
      return decideFile(ir, p.path, p.access);
    case 'connect':
      return decideConnect(ir, p.ip, p.port);
    case 'exec':
      return decideExec(ir, p.program, p.argv);
    case 'http':
      return decideHttp(ir, p);
    case 'mcp':
      return decideMcp(ir, p);
  }
}

function oracle(text: string, p: Probe, s: Session): Verdict {
  const common = {
    session: s.session,
    workspace: s.workspace,
    home: s.home,
    principal: p.principal,
  };
  switch (p.kind) {
    case 'file':
      return authorize(text, {
        ...common,
        action: p.access === 'read' ? 'ReadFile' : 'WriteFile',
        path: p.path,
      });
    case 'connect':
      return authorize(text, { ...common, action: 'Connect', ip: p.ip, port: p.port });
    case 'exec':
      return authorize(text, { ...common, action: 'Exec', path: p.program, argv: p.argv });
    case 'http':
      return authorize(text, {
        ...common,
        action: 'HttpRequest',
        host: p.host,
        port: p.port,
        method: p.method,
        path: p.path,
      });
    case 'mcp':
      return authorize(text, {
        ...common,
        action: 'McpCall',
        server: p.server,
        tool: p.tool,
        arguments: p.arguments,
      });
  }
}

/** The action and resource a probe stands for, as `LeftOut` and messages name them. */
export function actionAndResource(p: Probe): { action: LeftOutAction; resource: string } {
  switch (p.kind) {
    case 'file':
      return { action: p.access === 'read' ? 'ReadFile' : 'WriteFile', resource: p.path };
    case 'connect':
      return {
        action: 'Connect',
        resource: p.ip.includes(':') ? `[${p.ip}]:${p.port}` : `${p.ip}:${p.port}`,
      };
    case 'exec':
      return { action: 'Exec', resource: p.program };
    case 'http':
      return {
        action: 'HttpRequest',
        resource: p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`,
      };
    case 'mcp':
      return { action: 'McpCall', resource: `${p.server}/${p.tool}` };
  }
}

export type LeftOutAction =
  'ReadFile' | 'WriteFile' | 'Connect' | 'Exec' | 'HttpRequest' | 'McpCall';

export function describe(p: Probe): string {
  const { action, resource } = actionAndResource(p);
  return `${p.principal} ${action} ${JSON.stringify(resource)}`;
}

export interface CheckInput {
  base: string;
  baseFile: string;
  suggestion: string;
  ids: string[];
  principals: string[];
  session: Session;
  /** Must be allowed with the suggestion. */
  covered: Probe[];
  /** Denied by the base; must stay denied. */
  denied: Probe[];
}

/** What failed; empty when the suggestion may be offered. */
export function checkSuggestion(c: CheckInput): string[] {
  const problems: string[] = [];
  const text = `${c.base}\n${c.suggestion}`;

  const baseIds = [...policyAnnotations(c.base).keys()];
  const ids = [...policyAnnotations(text).keys()];
  const expected = [...baseIds, ...c.ids];
  if (ids.length !== expected.length || expected.some((id) => !ids.includes(id))) {
    problems.push(
      `the policy set holds ${ids.length} policies where ${expected.length} were written ` +
        `(${baseIds.length} of the base and ${c.ids.length} suggested)`,
    );
    return problems;
  }

  const { rules, errors } = compileFor(text, c.baseFile, c.principals, c.session);
  if (errors.length) return [`base and suggestion do not compile together: ${errors.join('; ')}`];

  for (const p of c.covered) {
    const ir = decide(rules, p);
    if (ir.decision !== 'allow') {
      problems.push(`${describe(p)} is still denied by the compiled rules (${why(ir)})`);
      continue;
    }
    const cedar = oracle(text, p, c.session);
    if (cedar.decision !== 'allow') {
      problems.push(`${describe(p)} is still denied by Cedar (${why(cedar)})`);
    }
  }
  for (const p of c.denied) {
    const ir = decide(rules, p);
    if (ir.decision !== 'deny') {
      problems.push(`${describe(p)} became allowed (by ${ir.policies.join(', ')})`);
      continue;
    }
    // Cedar knows nothing of built-in rules: only ask it about what the policy text denies.
    if (ir.policies.every(isBuiltin) && ir.policies.length > 0) continue;
    const cedar = oracle(text, p, c.session);
    if (cedar.decision !== 'deny') {
      problems.push(`${describe(p)} became allowed in Cedar (by ${cedar.policies.join(', ')})`);
    }
  }
  return problems;
}

const why = (v: Verdict): string =>
  v.policies.length ? `forbidden by ${v.policies.join(', ')}` : 'no permit matches';
