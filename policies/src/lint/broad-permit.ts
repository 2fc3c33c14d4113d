/**
 * L003: a permit that opens everything of a kind: writing anywhere, connecting anywhere, or
 * HTTP requests to any host.
 */
import type { ConnectMatcher, HttpMatcher, PathMatcher } from '../ir';
import { parseCidr } from '../ip';
import { unsatisfiable, type Matcher } from './matchers';
import { warning, type LintRule } from './rule';

/** No positive matcher narrows the path below `/`. */
function anyPath(alternative: PathMatcher[]): boolean {
  return alternative.every((m) => m.negate || (m.kind === 'prefix' && m.value === '/'));
}

/** No positive matcher narrows the address below a whole family (`0.0.0.0/0`, `::/0`). */
function anyAddress(alternative: ConnectMatcher[]): boolean {
  return alternative.every((m) => m.negate || m.kind === 'port' || parseCidr(m.cidr)?.prefix === 0);
}

/** No positive matcher names the host: `like "*"` and negations leave it open. */
export function anyHost(alternative: HttpMatcher[]): boolean {
  return alternative.every(
    (m) =>
      m.on !== 'host' ||
      m.match.negate ||
      (m.match.kind === 'like' && m.match.parts.every((p) => p === '')),
  );
}

/** The alternatives some request can match. */
const live = <M extends Matcher>(alternatives: M[][]): M[][] =>
  alternatives.filter((alt) => !unsatisfiable(alt));

export const broadPermit: LintRule = {
  code: 'L003',
  run(input) {
    return input.policies.flatMap((policy) => {
      const { files, connects, http, id, effect } = policy.compiled;
      if (effect !== 'permit') return [];
      const found: string[] = [];
      if (files?.access.includes('write') && live(files.alternatives).some(anyPath)) {
        found.push(
          'writing any file (everything under Dir::"/"), so an agent could change the system',
        );
      }
      if (connects && live(connects).some(anyAddress)) {
        found.push(
          'connecting to any address (0.0.0.0/0 or ::/0), so an agent could send data anywhere',
        );
      }
      if (http?.alternatives.some(anyHost)) {
        found.push('HTTP requests to any host, so an agent could send data to any web server');
      }
      return found.map((what) =>
        warning(
          input,
          policy.source.head,
          'L003',
          `permit "${id}" allows ${what}. Name the directories, address ranges or hosts it needs ` +
            'instead, or keep it deliberately and say why in a comment.',
        ),
      );
    });
  },
};
