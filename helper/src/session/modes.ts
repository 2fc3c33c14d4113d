/**
 * Modes: `enforce` applies the policy; `shadow` allows what the policy would deny and logs
 * it as `would-deny`; `record` allows and logs everything (for `leash policy suggest`). In
 * every mode the kernel still enforces the built-in rules and every forbid annotated
 * `@always`; the helper judges the rest against the full policy to name each decision.
 */
import type { ConnectRule, FileRule, PrincipalIR } from '@leash/policies';

export type Mode = 'enforce' | 'shadow' | 'record';
export const MODES: Mode[] = ['enforce', 'shadow', 'record'];

export function parseMode(value: string): Mode {
  const mode = (value || 'enforce') as Mode;
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${value}; modes: ${MODES.join(', ')}`);
  return mode;
}

const BUILTIN_PREFIX = 'leash:builtin/';

export interface EnforcedRules {
  files: FileRule[];
  connects: ConnectRule[];
  /** Whether the file guard may cache allowed files (every open is seen when it may not). */
  caching: boolean;
}

/** What the kernel enforces for a principal in a mode; `always` holds the `@always` ids. */
export function enforcedRules(mode: Mode, rules: PrincipalIR, always: Set<string>): EnforcedRules {
  if (mode === 'enforce') return { files: rules.files, connects: rules.connects, caching: true };
  const held = (r: { id: string; effect: string }): boolean =>
    r.effect === 'forbid' && (r.id.startsWith(BUILTIN_PREFIX) || always.has(r.id));
  const id = `leash:mode/${mode}`;
  return {
    files: [
      { id, effect: 'permit', access: ['read', 'write'], match: [] },
      ...rules.files.filter(held),
    ],
    connects: [{ id, effect: 'permit', match: [] }, ...rules.connects.filter(held)],
    caching: false,
  };
}
