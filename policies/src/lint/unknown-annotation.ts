/** L005: an annotation Leash does not know, most likely a misspelt enforcement setting. */
import { findTokens } from '../source';
import { warning, type LintRule } from './rule';

/** `@id` names the policy; `@always` and `@inject_header` are enforcement settings. */
export const KNOWN_ANNOTATIONS = ['id', 'always', 'inject_header'];

export const unknownAnnotation: LintRule = {
  code: 'L005',
  run(input) {
    return input.policies.flatMap((policy) =>
      Object.keys(policy.json.annotations ?? {})
        .filter((key) => !KNOWN_ANNOTATIONS.includes(key))
        .map((key) =>
          warning(
            input,
            findTokens(policy.source.tokens, ['@', key]) ?? policy.source.head,
            'L005',
            `unknown annotation "@${key}": Leash reads only ` +
              `${KNOWN_ANNOTATIONS.map((k) => `@${k}`).join(', ')}, so this one has no ` +
              'effect. Check its spelling, or remove it.',
          ),
        ),
    );
  },
};
