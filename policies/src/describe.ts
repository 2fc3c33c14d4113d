/** One-line readings of exec, HTTP and MCP rules, for `leash policy compile` and editor hovers. */
import type { ExecMatcher, ExecRule, HttpMatcher, HttpRule, McpRule, StringMatcher } from './ir';

function quoted(m: StringMatcher): string {
  const text = m.kind === 'equals' ? m.value : m.parts.join('*');
  return JSON.stringify(text);
}

export function describeString(subject: string, m: StringMatcher): string {
  const op = m.kind === 'equals' ? (m.negate ? '!=' : '==') : m.negate ? 'not like' : 'like';
  return `${subject} ${op} ${quoted(m)}`;
}

function execMatcher(m: ExecMatcher): string {
  if (m.on === 'program') {
    const { kind, value, negate } = m.path;
    return `${negate ? '!' : ''}program ${kind}:${value}`;
  }
  if (m.on === 'args') return describeString('args', m.match);
  return `${m.negate ? '!' : ''}argv.${m.op}(${m.values.map((v) => JSON.stringify(v)).join(', ')})`;
}

function httpMatcher(m: HttpMatcher): string {
  if (m.on === 'port') return `${m.negate ? '!' : ''}port:${m.lo}-${m.hi}`;
  return describeString(m.on, m.match);
}

export function describeExecRule(r: ExecRule): string {
  return `${r.effect} exec ${r.match.map(execMatcher).join(' && ') || 'any program'}`;
}

export function describeHttpRule(r: HttpRule): string {
  const match = r.match.map(httpMatcher).join(' && ') || 'any request';
  const inject = r.injectHeader ? ` (inject header ${r.injectHeader.name})` : '';
  return `${r.effect} http ${match}${inject}`;
}

export function describeMcpRule(r: McpRule): string {
  const match = r.match.map((m) => describeString(m.on, m.match)).join(' && ') || 'any call';
  return `${r.effect} mcp ${match}`;
}
