/** Compiling a policy set for one session: a PrincipalIR for each of its principals. */
import { createHash } from 'node:crypto';
import { builtinRules } from '../builtin';
import type { Diagnostic } from '../diagnostics';
import type {
  ConnectRule,
  ExecRule,
  FileRule,
  HttpRule,
  McpRule,
  PolicyIR,
  PrincipalIR,
} from '../ir';
import { isNormalPath } from '../paths';
import { analyse } from '../validate';
import { appliesTo, type CompiledPolicy } from './policy';

export interface CompileOptions {
  session: string;
  /** Principal names: `claude` stands for `Agent::"claude"`. */
  principals: string[];
  /** Absolute paths inside the sandbox that `@workspace` and `@home` stand for. */
  workspace: string;
  home: string;
  /** The session's policy file inside the sandbox, for the built-in rules. */
  policyFile?: string;
}

export interface CompileResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  ir?: PolicyIR;
}

function principalIR(name: string, policies: CompiledPolicy[], builtins: FileRule[]): PrincipalIR {
  const files: FileRule[] = [];
  const connects: ConnectRule[] = [];
  const exec: ExecRule[] = [];
  const http: HttpRule[] = [];
  const mcp: McpRule[] = [];
  for (const p of policies) {
    for (const match of p.exec ?? []) exec.push({ id: p.id, effect: p.effect, match });
    for (const match of p.http?.alternatives ?? []) {
      const rule: HttpRule = { id: p.id, effect: p.effect, match };
      if (p.http?.injectHeader) rule.injectHeader = { ...p.http.injectHeader };
      http.push(rule);
    }
    for (const match of p.mcp ?? []) mcp.push({ id: p.id, effect: p.effect, match });
    for (const match of p.files?.alternatives ?? []) {
      files.push({ id: p.id, effect: p.effect, access: [...(p.files?.access ?? [])], match });
    }
    for (const match of p.connects ?? []) connects.push({ id: p.id, effect: p.effect, match });
  }
  const all = [...files, ...builtins];
  return { principal: name, files: all, connects, exec, http, mcp };
}

export function compilePolicy(text: string, file: string, options: CompileOptions): CompileResult {
  for (const [what, path] of [
    ['workspace', options.workspace],
    ['home', options.home],
  ] as const) {
    if (!isNormalPath(path))
      throw new Error(`${what} must be an absolute, normalised path: ${path}`);
  }
  const analysis = analyse(text, file, { workspace: options.workspace, home: options.home });
  const { diagnostics } = analysis;
  if (!analysis.ok) return { ok: false, diagnostics };

  const builtins = builtinRules({ workspace: options.workspace, policyFile: options.policyFile });
  const principals: Record<string, PrincipalIR> = {};
  for (const name of options.principals) {
    const mine = analysis.policies
      .map((p) => p.compiled)
      .filter((p) => appliesTo(p.principal, name, options.session));
    principals[name] = principalIR(name, mine, builtins);
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics };

  const hash = createHash('sha256').update(text).digest('hex');
  return { ok: true, diagnostics, ir: { hash, principals } };
}
