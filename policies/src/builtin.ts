/**
 * Rules leashd adds to every principal of every session. They are forbids, so no policy can
 * lift them: a matching forbid always wins over any permit.
 */
import type { FileRule } from './ir';

export interface BuiltinOptions {
  workspace: string;
  /** The session's policy file as seen inside the sandbox, when it is visible there. */
  policyFile?: string;
}

export function builtinRules({ workspace, policyFile }: BuiltinOptions): FileRule[] {
  const leashDir = workspace === '/' ? '/.leash' : `${workspace}/.leash`;
  const rules: FileRule[] = [
    {
      id: 'leash:builtin/workspace-leash-dir',
      effect: 'forbid',
      access: ['write'],
      match: [{ kind: 'prefix', value: leashDir }],
    },
  ];
  if (policyFile !== undefined) {
    rules.push({
      id: 'leash:builtin/policy-file',
      effect: 'forbid',
      access: ['write'],
      match: [{ kind: 'exact', value: policyFile }],
    });
  }
  return rules;
}
