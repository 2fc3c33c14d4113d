/**
 * Differential checking: the compiled IR against Cedar itself, request by request. Used by the
 * tests; exported so that other suites (conformance, fuzzing) can reuse it.
 */
import { compilePolicy } from './compile';
import { decideConnect, decideFile } from './decide';
import type { FileAccess, PrincipalIR, Verdict } from './ir';
import { authorize } from './oracle';
import type { Roots } from './paths';

export interface DifferentialCase extends Roots {
  text: string;
  session: string;
  principals: string[];
  paths: string[];
  endpoints: Array<{ ip: string; port: number }>;
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

export function differential(c: DifferentialCase): { mismatches: Mismatch[]; requests: number } {
  const compiled = compilePolicy(c.text, 'policy.cedar', c);
  if (!compiled.ir) {
    throw new Error(`does not compile: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
  }
  const mismatches: Mismatch[] = [];
  let requests = 0;
  const same = (a: Verdict, b: Verdict): boolean => JSON.stringify(a) === JSON.stringify(b);

  for (const principal of c.principals) {
    const ir = compiled.ir.principals[principal];
    if (!ir) throw new Error(`no IR for ${principal}`);
    const p = withoutBuiltins(ir);
    const base = { principal, session: c.session, workspace: c.workspace, home: c.home };
    for (const path of c.paths) {
      for (const access of ['read', 'write'] as FileAccess[]) {
        const action = access === 'read' ? 'ReadFile' : 'WriteFile';
        const mine = decideFile(p, path, access);
        const cedar = authorize(c.text, { ...base, action, path });
        requests++;
        if (!same(mine, cedar))
          mismatches.push({ principal, request: `${action} ${path}`, ir: mine, cedar });
      }
    }
    for (const { ip, port } of c.endpoints) {
      const mine = decideConnect(p, ip, port);
      const cedar = authorize(c.text, { ...base, action: 'Connect', ip, port });
      requests++;
      if (!same(mine, cedar))
        mismatches.push({ principal, request: `Connect ${ip} ${port}`, ir: mine, cedar });
    }
  }
  return { mismatches, requests };
}
