/**
 * Differential checking: the compiled IR against Cedar itself, request by request. Used by the
 * tests; exported so that other suites (conformance, fuzzing) can reuse it.
 */
import { compilePolicy } from './compile';
import {
  decideConnect,
  decideExec,
  decideFile,
  decideHttp,
  decideMcp,
  type HttpRequestFacts,
  type McpCallFacts,
} from './decide';
import type { FileAccess, PrincipalIR, Verdict } from './ir';
import { authorize } from './oracle';
import type { Roots } from './paths';

export interface DifferentialCase extends Roots {
  text: string;
  session: string;
  principals: string[];
  paths: string[];
  endpoints: Array<{ ip: string; port: number }>;
  execs?: ExecFacts[];
  http?: HttpRequestFacts[];
  mcp?: McpCallFacts[];
}

/** An execution: the program's path and its arguments after argv[0]. */
export interface ExecFacts {
  program: string;
  argv: string[];
}

export interface Mismatch {
  principal: string;
  request: string;
  ir: Verdict;
  cedar: Verdict;
}

/** Built-in rules are not in the Cedar text, so the comparison leaves them out. */
function withoutBuiltins(p: PrincipalIR): PrincipalIR {
  return { ...p, files: p.files.filter((r) => !r.id.startsWith('leash:builtin/')) };
}

const same = (a: Verdict, b: Verdict): boolean =>
  a.decision === b.decision && a.policies.join('\n') === b.policies.join('\n');

export function differential(c: DifferentialCase): { mismatches: Mismatch[]; requests: number } {
  const compiled = compilePolicy(c.text, 'policy.cedar', c);
  if (!compiled.ir) {
    throw new Error(`does not compile: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
  }
  const mismatches: Mismatch[] = [];
  let requests = 0;
  for (let i = 0; i < c.principals.length; i++) {
    const principal = c.principals[i] as string;
    const ir = compiled.ir.principals[principal];
    if (!ir) throw new Error(`no IR for ${principal}`);
    const p = withoutBuiltins(ir);
    for (let k = 0; k < c.paths.length * 2; k++) {
      const found = compareFile(c, p, c.paths[k >> 1] as string, k % 2 ? 'write' : 'read');
      if (found) mismatches.push(found);
      requests++;
    }
    for (let k = 0; k < c.endpoints.length; k++) {
      const found = compareConnect(c, p, c.endpoints[k] as { ip: string; port: number });
      if (found) mismatches.push(found);
      requests++;
    }
    for (const { program, argv } of c.execs ?? []) {
      const ir = decideExec(p, program, argv);
      const cedar = authorize(c.text, { ...roots(c, p), action: 'Exec', path: program, argv });
      const request = `Exec ${JSON.stringify([program, ...argv])}`;
      if (!same(ir, cedar)) mismatches.push({ principal: p.principal, request, ir, cedar });
      requests++;
    }
    for (const req of c.http ?? []) {
      const { decision, policies } = decideHttp(p, req);
      const ir = { decision, policies };
      const cedar = authorize(c.text, { ...roots(c, p), action: 'HttpRequest', ...req });
      const request = `HttpRequest ${JSON.stringify(req)}`;
      if (!same(ir, cedar)) mismatches.push({ principal: p.principal, request, ir, cedar });
      requests++;
    }
    for (const call of c.mcp ?? []) {
      const ir = decideMcp(p, call);
      const cedar = authorize(c.text, { ...roots(c, p), action: 'McpCall', ...call });
      const request = `McpCall ${JSON.stringify(call)}`;
      if (!same(ir, cedar)) mismatches.push({ principal: p.principal, request, ir, cedar });
      requests++;
    }
  }
  return { mismatches, requests };
}

function compareFile(
  c: DifferentialCase,
  p: PrincipalIR,
  path: string,
  access: FileAccess,
): Mismatch | null {
  const action = access === 'read' ? 'ReadFile' : 'WriteFile';
  const ir = decideFile(p, path, access);
  const cedar = authorize(c.text, { ...roots(c, p), action, path });
  return same(ir, cedar)
    ? null
    : { principal: p.principal, request: `${action} ${path}`, ir, cedar };
}

function compareConnect(
  c: DifferentialCase,
  p: PrincipalIR,
  { ip, port }: { ip: string; port: number },
): Mismatch | null {
  const ir = decideConnect(p, ip, port);
  const cedar = authorize(c.text, { ...roots(c, p), action: 'Connect', ip, port });
  const request = `Connect ${ip} ${port}`;
  return same(ir, cedar) ? null : { principal: p.principal, request, ir, cedar };
}

function roots(c: DifferentialCase, p: PrincipalIR) {
  return { principal: p.principal, session: c.session, workspace: c.workspace, home: c.home };
}
