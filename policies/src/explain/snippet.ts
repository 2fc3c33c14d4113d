/** Writing Cedar text from values a workload chose: every string is escaped, never spliced. */
import { formatAddress, parseAddress, unmap } from '../ip';
import type { Request } from './request';

/** A Cedar string literal for `s`: quotes, backslashes and control characters escaped. */
export function cedarString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}

/** The smallest permit that allows exactly `r` (for the principal, action and resource). */
export function permitFor(r: Request, id: string): string {
  const principal = `principal == Leash::Agent::${cedarString(r.principal)}`;
  const action = `action == Leash::Action::"${r.action}"`;
  if (r.action === 'Connect') {
    // Cedar refuses IPv4-mapped literals, and Leash judges them as the IPv4 address anyway.
    const parsed = parseAddress(r.ip);
    const ip = parsed ? formatAddress(unmap(parsed)) : r.ip;
    return (
      `@id(${cedarString(id)})\npermit (${principal}, ${action}, resource)\n` +
      `when { resource.ip == ip(${cedarString(ip)}) && resource.port == ${r.port} };`
    );
  }
  if (r.action === 'HttpRequest') {
    return (
      `@id(${cedarString(id)})\npermit (\n  ${principal},\n  ${action},\n` +
      `  resource == Leash::Host::${cedarString(r.host)}\n)\nwhen { resource.port == ${r.port} };`
    );
  }
  const resource =
    r.action === 'McpCall'
      ? `resource == Leash::McpTool::${cedarString(`${r.server}/${r.tool}`)}`
      : `resource == Leash::File::${cedarString(r.path)}`;
  return `@id(${cedarString(id)})\npermit (\n  ${principal},\n  ${action},\n  ${resource}\n);`;
}
