/**
 * Deciding single requests both ways: from the compiled IR (what leashd enforces) and from
 * Cedar itself (the oracle). `explain` and policy examples are built on it.
 */
import { compilePolicy } from '../compile';
import { decideConnect, decideExec, decideFile, decideHttp, decideMcp } from '../decide';
import type { Diagnostic } from '../diagnostics';
import type { PrincipalIR, Verdict } from '../ir';
import { authorize } from '../oracle';
import type { Roots } from '../paths';
import { analyse, type Analysis } from '../validate';
import type { Request } from './request';

export interface JudgeOptions extends Roots {
  session: string;
}

export interface Judgement {
  /** What leashd enforces: the compiled rules, built-in rules included. */
  enforced: Verdict;
  /** The compiled rules without the built-in ones, to hold against Cedar. */
  ir: Verdict;
  cedar: Verdict;
  agree: boolean;
}

export interface Judge {
  ok: boolean;
  diagnostics: Diagnostic[];
  analysis: Analysis;
  judge(r: Request): Judgement;
}

const BUILTIN = 'leash:builtin/';

const same = (a: Verdict, b: Verdict): boolean =>
  a.decision === b.decision && a.policies.join('\n') === b.policies.join('\n');

export function makeJudge(text: string, file: string, options: JudgeOptions): Judge {
  const analysis = analyse(text, file, options);
  const compiled = new Map<string, PrincipalIR>();
  const irOf = (principal: string): PrincipalIR => {
    let ir = compiled.get(principal);
    if (!ir) {
      const result = compilePolicy(text, file, { ...options, principals: [principal] });
      const found = result.ir?.principals[principal];
      if (!found) {
        const why = result.diagnostics.find((d) => d.severity === 'error')?.message;
        throw new Error(`the policy does not compile for ${principal}: ${why ?? 'no rules'}`);
      }
      ir = found;
      compiled.set(principal, ir);
    }
    return ir;
  };

  const decide = (r: Request): { enforced: Verdict; ir: Verdict } => {
    const ir = irOf(r.principal);
    if (r.action === 'Connect') {
      const v = decideConnect(ir, r.ip, r.port);
      return { enforced: v, ir: v };
    }
    if (r.action === 'Exec') {
      const v = decideExec(ir, r.path, r.argv);
      return { enforced: v, ir: v };
    }
    if (r.action === 'HttpRequest') {
      const { decision, policies } = decideHttp(ir, r);
      return { enforced: { decision, policies }, ir: { decision, policies } };
    }
    if (r.action === 'McpCall') {
      const v = decideMcp(ir, r);
      return { enforced: v, ir: v };
    }
    const enforced = decideFile(ir, r.path, r.action === 'ReadFile' ? 'read' : 'write');
    const own = { ...ir, files: ir.files.filter((rule) => !rule.id.startsWith(BUILTIN)) };
    return { enforced, ir: decideFile(own, r.path, r.action === 'ReadFile' ? 'read' : 'write') };
  };

  return {
    ok: analysis.ok,
    diagnostics: analysis.diagnostics,
    analysis,
    judge(r) {
      const { enforced, ir } = decide(r);
      const common = { ...options, principal: r.principal };
      const cedar = authorize(text, { ...options, ...r });
      return { enforced, ir, cedar, agree: same(ir, cedar) };
    },
  };
}
