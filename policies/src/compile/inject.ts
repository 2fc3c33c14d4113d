/**
 * `@inject_header("Name: value")`: a header the proxy adds to HTTP requests a permit allows.
 * The value may hold `${secret:NAME}` references that the proxy resolves on the host.
 */
import { CompileError } from './errors';

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An HTTP field name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers that frame or route the request, or that only the proxy may set. */
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'expect',
]);

const AT = ['@', 'inject_header'];

function fail(code: string, message: string): CompileError {
  return new CompileError(code, message, undefined, AT);
}

/** The `${secret:NAME}` names in a value; refuses any other `${`. */
export function secretNames(value: string): string[] {
  const names: string[] = [];
  for (let at = value.indexOf('${'); at >= 0; at = value.indexOf('${', at + 2)) {
    const end = value.indexOf('}', at);
    const inner = end < 0 ? value.slice(at + 2) : value.slice(at + 2, end);
    const name = inner.startsWith('secret:') ? inner.slice('secret:'.length) : null;
    if (end < 0 || name === null || !SECRET_NAME.test(name)) {
      throw fail(
        'inject-header-secret',
        `"\${${inner}${end < 0 ? '' : '}'}" is not a secret reference: write \${secret:NAME} ` +
          'with NAME made of letters, digits and "_", not starting with a digit ' +
          '(such as ${secret:GITHUB_TOKEN}).',
      );
    }
    names.push(name);
  }
  return names;
}

/** Parses the annotation's text; throws a CompileError located at the annotation. */
export function parseInjectHeader(text: string): { name: string; value: string } {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon);
  if (!TOKEN.test(name)) {
    throw fail(
      'inject-header-format',
      `@inject_header("${text}") is not "Name: value": the name comes first, made of letters, ` +
        'digits and -, directly followed by ":" (such as "Authorization: Bearer ${secret:TOKEN}").',
    );
  }
  if (RESERVED.has(name.toLowerCase())) {
    throw fail(
      'inject-header-name',
      `"${name}" frames or routes the request, so the proxy does not let a policy set it; ` +
        'inject an authentication header such as "Authorization" instead.',
    );
  }
  const value = text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
    throw fail(
      'inject-header-value',
      `the value of header "${name}" holds a line break or control character, which would ` +
        'split or corrupt the request; write it on one line.',
    );
  }
  secretNames(value);
  return { name, value };
}
