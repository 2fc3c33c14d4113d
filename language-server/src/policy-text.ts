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

/** Texts up to this long are tokenized whole for a question about one place in them. */
const WHOLE_TEXT = 200_000;
/** Else this much either side of the place, from and to a `;` that ends a line. */
const AROUND = 32_768;

/**
 * The tokens of the text around `offset`, at their offsets in the whole text. A long text is
 * read only near the place, from the end of a line that ends a policy; a string running over
 * several lines with `;` at the end of one could mislead that, which costs a hover at worst.
 */
export function tokensAround(text: string, offset: number): Token[] {
  if (text.length <= WHOLE_TEXT) return tokenize(text);
  const back = text.lastIndexOf(';\n', offset - 1);
  const from = back >= 0 && offset - back <= AROUND ? back + 2 : Math.max(0, offset - AROUND);
  const ahead = text.indexOf(';\n', offset);
  const to = ahead >= 0 && ahead - offset <= AROUND ? ahead + 1 : offset + AROUND;
  return tokenize(text.slice(from, to)).map((t) => ({
    ...t,
    start: t.start + from,
    end: t.end + from,
  }));
}

/** The policy around `offset`, if the offset is inside one. */
export function policyAt(text: string, offset: number): PolicySource | undefined {
  return splitPolicies(text, tokensAround(text, offset)).find(
    (p) => p.range.start <= offset && offset <= p.range.end,
  );
}

/** The token under `offset` (a cursor right after a token counts), with the tokens before it. */
export function tokenAt(text: string, offset: number): { token: Token; before: Token[] } | null {
  const tokens = tokensAround(text, offset);
  const index = tokens.findIndex((t) => t.start <= offset && offset <= t.end && t.kind !== 'punct');
  if (index < 0) return null;
  return { token: tokens[index] as Token, before: tokens.slice(Math.max(0, index - 6), index) };
}

/** Whether the tokens just before a string are `<Type> ::`, e.g. `Action ::` for an action. */
export function qualifiedBy(before: Token[], type: string): boolean {
  const n = before.length;
  return before[n - 1]?.text === '::' && before[n - 2]?.text === type;
}
