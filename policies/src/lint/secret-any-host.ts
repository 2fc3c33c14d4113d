/** L007: an `@inject_header` permit that can send its header, and so its secret, to any host. */
import { anyHost } from './broad-permit';
import { findTokens } from '../source';
import { warning, type LintRule } from './rule';

export const secretAnyHost: LintRule = {
  code: 'L007',
  run(input) {
    return input.policies.flatMap((policy) => {
      const { http, id } = policy.compiled;
      if (!http?.injectHeader || !http.alternatives.some(anyHost)) return [];
      const at = findTokens(policy.source.tokens, ['@', 'inject_header']) ?? policy.source.head;
      return [
        warning(
          input,
          at,
          'L007',
          `permit "${id}" injects header "${http.injectHeader.name}" into requests to any ` +
            'host, so whatever it holds reaches every server the agent can name. Constrain the ' +
            'host: `resource == Leash::Host::"api.example.com"` or ' +
            '`resource.name like "*.example.com"`.',
        ),
      ];
    });
  },
};
