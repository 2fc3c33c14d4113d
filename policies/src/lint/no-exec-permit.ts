/** L006: no policy permits Exec, so every program is denied once exec rules are enforced. */
import { warning, type LintRule } from './rule';

export const noExecPermit: LintRule = {
  code: 'L006',
  run(input) {
    const permitsExec = input.policies.some(
      (p) => p.compiled.effect === 'permit' && (p.compiled.exec?.length ?? 0) > 0,
    );
    if (permitsExec || input.policies.length === 0) return [];
    return [
      warning(
        input,
        { start: 0, end: 0 },
        'L006',
        'no policy permits Exec, so every program is denied to every agent (Cedar denies by ' +
          'default), the agent itself included. Permit the programs agents may run, e.g. ' +
          '`@id("exec") permit (principal, action == Leash::Action::"Exec", resource);`.',
      ),
    ];
  },
};
