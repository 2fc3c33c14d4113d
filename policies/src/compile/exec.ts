/**
 * Exec conditions → exec matchers: the program by its path (as file conditions, on the program
 * file), `context.argv` set tests and `context.args` string tests.
 */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';
import type { ExecMatcher, PathMatcher } from '../ir';
import type { Roots } from '../paths';
import type { AtomCompiler } from './condition';
import { CompileError } from './errors';
import { isVar, literal, nodeOf } from './expr';
import { fileAtoms } from './file';
import { atom, FALSE, TRUE, type Formula } from './formula';
import { negateString, stringAtom, type StringSubjects } from './strings';

type F = Formula<ExecMatcher>;

function negate(m: ExecMatcher): ExecMatcher {
  if (m.on === 'program') return { on: 'program', path: { ...m.path, negate: !m.path.negate } };
  if (m.on === 'args') return { on: 'args', match: negateString(m.match) };
  return { ...m, negate: !m.negate };
}

/** Program path alternatives → exec alternatives. */
export function onProgram(f: Formula<PathMatcher>): F {
  return f.map((alternative) => alternative.map((path) => ({ on: 'program' as const, path })));
}

/** `context.<name>`. */
function contextAttr(e: Expr): string | null {
  const n = nodeOf(e);
  if (n.op !== '.') return null;
  const b = n.body as { left: Expr; attr: string };
  return isVar(b.left, 'context') ? b.attr : null;
}

const ARGS: StringSubjects<ExecMatcher> = {
  subject: (e) => (contextAttr(e) === 'args' ? 'args' : null),
  make: (_subject, match) => ({ on: 'args', match }),
};

function unsupported(e: Expr): CompileError {
  return new CompileError(
    'unsupported-exec',
    'this condition cannot be enforced on Exec. The compiler understands conditions on the ' +
      'program file (`resource in Leash::Dir::"…"`, `resource.path == "…"`, ' +
      '`resource.name == "…"`, …), `context.argv.contains("…")`, ' +
      '`context.argv.containsAll(["…"])`, `context.argv.containsAny(["…"])`, ' +
      '`context.args == "…"` and `context.args like "…"`, joined with `&&`, `||` and `!`.',
    e,
  );
}

/** `context.argv.contains("a")`, `.containsAll([…])`, `.containsAny([…])` with literals. */
function argvTest(e: Expr): F | null {
  const n = nodeOf(e);
  if (n.op !== 'contains' && n.op !== 'containsAll' && n.op !== 'containsAny') return null;
  const b = n.body as { left: Expr; right: Expr };
  if (contextAttr(b.left) !== 'argv') return null;
  let values: unknown[];
  if (n.op === 'contains') values = [literal(b.right)];
  else {
    const set = nodeOf(b.right);
    if (set.op !== 'Set' || !Array.isArray(set.body)) throw unsupported(e);
    values = (set.body as Expr[]).map(literal);
  }
  if (!values.every((v): v is string => typeof v === 'string')) {
    throw new CompileError(
      'argv-not-literal',
      `\`context.argv.${n.op}(…)\` can be enforced only with string literals: write ` +
        '`context.argv.contains("--force")` or `context.argv.containsAny(["-f", "--force"])`.',
      e,
    );
  }
  const distinct = [...new Set(values)];
  if (distinct.length === 0) return n.op === 'containsAny' ? FALSE : TRUE;
  return atom({ on: 'argv', op: n.op, values: distinct });
}

export function execAtoms(roots: Roots): AtomCompiler<ExecMatcher> {
  const files = fileAtoms(roots);
  const atomOf = (e: Expr): F => {
    const n = nodeOf(e);
    if (n.op === 'has') {
      const b = n.body as { left: Expr; attr: string };
      if (isVar(b.left, 'context')) return b.attr === 'argv' || b.attr === 'args' ? TRUE : FALSE;
      if (isVar(b.left, 'resource')) return b.attr === 'path' || b.attr === 'name' ? TRUE : FALSE;
    }
    const argv = argvTest(e);
    if (argv) return argv;
    const args = stringAtom(e, ARGS, negate);
    if (args) return args;
    if (JSON.stringify(e).includes('{"Var":"context"}')) throw unsupported(e);
    try {
      return onProgram(files.atom(e));
    } catch (err) {
      if (err instanceof CompileError && err.code === 'unsupported-expression') {
        throw unsupported(e);
      }
      throw err;
    }
  };
  return { subject: 'Exec', atom: atomOf, negate, context: true };
}
