/** The boolean skeleton of a condition (`&&`, `||`, `!`, `true`), over per-action atoms. */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';
import { CompileError } from './errors';
import { and, FALSE, not, or, TRUE, type Formula } from './formula';
import { binary, findVar, nodeOf } from './expr';

export interface AtomCompiler<M> {
  /** What the atoms are about, for messages: "files", "connects". */
  subject: string;
  /** Whether the action has a request context the atoms understand. */
  context?: boolean;
  atom(e: Expr): Formula<M>;
  negate(m: M): M;
}

export function compileCondition<M>(e: Expr, atoms: AtomCompiler<M>): Formula<M> {
  const n = nodeOf(e);
  if (n.op === 'Value' && typeof n.body === 'boolean') return n.body ? TRUE : FALSE;

  const both = binary(e, '&&') ?? binary(e, '||');
  if (both) {
    const left = compileCondition(both.left, atoms);
    const right = compileCondition(both.right, atoms);
    return n.op === '&&' ? and(left, right) : or(left, right);
  }
  if (n.op === '!')
    return not(compileCondition((n.body as { arg: Expr }).arg, atoms), atoms.negate);

  const variable = findVar(
    e,
    atoms.context ? ['principal', 'action'] : ['context', 'principal', 'action'],
  );
  if (variable) {
    const name = nodeOf(variable).body as string;
    const why =
      name === 'context'
        ? `\`context\` is not enforced for ${atoms.subject} yet: the kernel sees no request context`
        : `\`${name}\` in a condition is not supported: ` +
          `constrain the ${name} in the policy scope instead`;
    throw new CompileError(`unsupported-${name}`, `${why}.`, variable);
  }
  return atoms.atom(e);
}
