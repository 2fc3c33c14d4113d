/**
 * The request target an HTTP rule is judged on, in one canonical spelling that is also what
 * the proxy forwards: an upstream that decodes or resolves the path itself then sees the same
 * path the policy saw, so `/%61dmin` and `/x/../admin` meet a forbid on `/admin*`. Spellings
 * that servers read differently from one another are refused instead of guessed, except an
 * encoded `/` (npm's scoped packages and GitLab's project ids need it): it is forwarded as
 * sent, and the path is judged a second time as a server that decodes it would read it.
 */

/**
 * A canonical target (path and query), and when its path holds an encoded `/` the other
 * reading to judge as well (`%2F` as `/`, dot segments resolved again); or why the target
 * cannot be judged.
 */
export type Target = { target: string; decodedSlashes?: string } | { problem: string };

/** RFC 3986 unreserved characters: decoding them never changes what a URI means. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Characters allowed as they are in a path or query (RFC 3986 pchar, '/' and '?'). */
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]$/;

/**
 * Canonical form of an origin-form target (`/path?query`): percent-encoded unreserved
 * characters decoded, other escapes in upper case, `.` and `..` segments resolved. Refused:
 * an encoded `\` or `%` in the path (servers split or decode them differently), a backslash,
 * any control character encoded or not, bytes outside printable ASCII, an escape that is not
 * `%` and two hex digits, an empty segment (`//`, which some servers merge), a `..` that
 * climbs above the root, and a fragment; in either reading of an encoded `/`.
 */
export function canonicalTarget(raw: string): Target {
  if (!raw.startsWith('/')) return refuse(raw, 'does not start with /');
  const queryAt = raw.indexOf('?');
  const rawPath = queryAt < 0 ? raw : raw.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? undefined : raw.slice(queryAt + 1);

  const path = canonicalPart(rawPath, 'path');
  if (typeof path !== 'string') return refuse(raw, path.problem);
  const query = rawQuery === undefined ? undefined : canonicalPart(rawQuery, 'query');
  if (query !== undefined && typeof query !== 'string') return refuse(raw, query.problem);

  const resolved = withoutDotSegments(path);
  if (typeof resolved !== 'string') return refuse(raw, resolved.problem);
  const withQuery = (p: string): string => (query === undefined ? p : `${p}?${query}`);
  if (!resolved.includes('%2F')) return { target: withQuery(resolved) };

  const decoded = withoutDotSegments(resolved.replaceAll('%2F', '/'));
  if (typeof decoded !== 'string') {
    return refuse(raw, `${decoded.problem} once its encoded / (%2F) is read as /`);
  }
  return { target: withQuery(resolved), decodedSlashes: withQuery(decoded) };
}

function refuse(raw: string, why: string): { problem: string } {
  return {
    problem:
      `request target ${JSON.stringify(raw)} ${why}; ` +
      'send the path in its plain form so that it can be judged',
  };
}

/** Decodes unreserved escapes and upper-cases the others; a problem for what is ambiguous. */
function canonicalPart(part: string, where: 'path' | 'query'): string | { problem: string } {
  let out = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c !== '%') {
      if (c === '\\') return { problem: `holds a backslash in its ${where}` };
      if (c === '#') return { problem: 'holds a fragment (#), which is never sent to a server' };
      if (!PLAIN.test(c)) {
        return { problem: `holds ${describe(c.charCodeAt(0))} in its ${where}` };
      }
      out += c;
      continue;
    }
    const hex = part.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      return { problem: `holds a % not followed by two hex digits in its ${where}` };
    }
    const code = parseInt(hex, 16);
    const ch = String.fromCharCode(code);
    i += 2;
    if (code < 0x20 || code === 0x7f) {
      return { problem: `holds ${describe(code)} encoded as %${hex} in its ${where}` };
    }
    if (where === 'path' && (ch === '\\' || ch === '%')) {
      return { problem: `holds an encoded ${JSON.stringify(ch)} (%${hex}) in its path` };
    }
    out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  }
  return out;
}

function describe(code: number): string {
  if (code === 0) return 'a NUL byte';
  if (code < 0x20 || code === 0x7f) return `control character 0x${code.toString(16)}`;
  if (code > 0x7e) return `a byte outside printable ASCII (0x${code.toString(16)})`;
  return `the character ${JSON.stringify(String.fromCharCode(code))}`;
}

/** RFC 3986 section 5.2.4 on a path of segments; an empty segment or climbing out refused. */
function withoutDotSegments(path: string): string | { problem: string } {
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === '' && !last) return { problem: 'holds an empty path segment (//)' };
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) return { problem: 'climbs above the root with ..' };
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}
