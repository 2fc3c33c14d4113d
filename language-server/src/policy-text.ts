/**
 * Where things are in a policy text, from the policy core's own tokenizer: the policy and the
 * token under the cursor, a policy's `@id` and effect.
 */
import { splitPolicies, tokenize, type PolicySource, type Token } from '@leash/policies';

export type { PolicySource, Token };

export function policies(text: string): PolicySource[] {
  return splitPolicies(text);
}

export function idOf(policy: PolicySource): string | null {
  const t = policy.tokens;
  for (let i = 0; i + 3 < t.length; i++) {
    if (t[i]?.text === '@' && t[i + 1]?.text === 'id' && t[i + 2]?.text === '(') {
      const id = t[i + 3];
      return id?.kind === 'string' ? id.value : null;
    }
  }
  return null;
}

export function effectOf(policy: PolicySource): Token | undefined {
  return policy.tokens.find(
    (t) => t.kind === 'ident' && (t.text === 'permit' || t.text === 'forbid'),
  );
}

/** The token under `offset` (a cursor right after a token counts), with the tokens before it. */
export function tokenAt(text: string, offset: number): { token: Token; before: Token[] } | null {
  const tokens = tokenize(text);
  const index = tokens.findIndex((t) => t.start <= offset && offset <= t.end && t.kind !== 'punct');
  if (index < 0) return null;
  return { token: tokens[index] as Token, before: tokens.slice(Math.max(0, index - 6), index) };
}

/** Whether the tokens just before a string are `<Type> ::`, e.g. `Action ::` for an action. */
export function qualifiedBy(before: Token[], type: string): boolean {
  const n = before.length;
  return before[n - 1]?.text === '::' && before[n - 2]?.text === type;
}
