/**
 * Completion of values inside strings: the address forms inside `ip("…")`, and the host
 * names, addresses, MCP servers and tools that leashd's audit log has seen, where a policy
 * names such a thing (`Host::"…"`, `McpServer::"…"`, `McpTool::"…"`,
 * `resource.name == "…"`).
 */
import { CompletionItemKind, type CompletionItem, type Range } from 'vscode-languageserver/node';
import type { AuditNames, Seen } from './audit-names';

/** Ranges worth offering in any policy, with what they are. */
const CIDR_FORMS: Array<[string, string]> = [
  ['127.0.0.0/8', 'IPv4 loopback'],
  ['10.0.0.0/8', 'private network (RFC 1918)'],
  ['172.16.0.0/12', 'private network (RFC 1918)'],
  ['192.168.0.0/16', 'private network (RFC 1918)'],
  ['169.254.0.0/16', 'IPv4 link-local (includes cloud metadata addresses)'],
  ['100.64.0.0/10', 'carrier-grade NAT (RFC 6598)'],
  ['::1', 'IPv6 loopback'],
  ['fc00::/7', 'IPv6 unique local addresses'],
  ['fe80::/10', 'IPv6 link-local'],
];

/** What is being completed inside a string, from the text of the policy up to the cursor. */
export interface ValueContext {
  kind: 'ip' | 'host' | 'server' | 'tool';
  /** What is typed of the value so far. */
  typed: string;
  /** A tool by its own name (`resource.name`), not as `server/tool`. */
  byName?: boolean;
}

/** The value context at the end of `before`, given the actions the policy names. */
export function valueContext(before: string, actions: string[]): ValueContext | null {
  const ip = /\bip\(\s*"([^"\\\n]*)$/.exec(before);
  if (ip) return { kind: 'ip', typed: ip[1] ?? '' };
  const entity = /\b(Host|McpServer|McpTool)::"([^"\\\n]*)$/.exec(before);
  if (entity) {
    const kinds = { Host: 'host', McpServer: 'server', McpTool: 'tool' } as const;
    return { kind: kinds[entity[1] as keyof typeof kinds], typed: entity[2] ?? '' };
  }
  const attr = /\bresource\.(name|server|host)\s*(?:==|!=|like)\s*"([^"\\\n]*)$/.exec(before);
  if (!attr) return null;
  const typed = attr[2] ?? '';
  if (attr[1] === 'host') return { kind: 'host', typed };
  if (attr[1] === 'server') return { kind: 'server', typed };
  if (actions.includes('HttpRequest')) return { kind: 'host', typed };
  // An McpTool's `name` is the tool's own name, without its server.
  if (actions.includes('McpCall')) return { kind: 'tool', typed, byName: true };
  return null;
}

export function valueItems(
  context: ValueContext,
  seen: AuditNames,
  range: Range,
): CompletionItem[] {
  const item = (label: string, detail: string, kind: CompletionItemKind): CompletionItem => ({
    label,
    kind,
    detail,
    filterText: label,
    textEdit: { range, newText: label },
  });
  const fromLog = (names: Map<string, Seen>, what: string, kind: CompletionItemKind) =>
    [...names].reverse().map(([name, s]) => item(name, described(what, s), kind));

  switch (context.kind) {
    case 'ip': {
      const forms = CIDR_FORMS.map(([cidr, what]) => item(cidr, what, CompletionItemKind.Value));
      const addresses = fromLog(seen.addresses, 'connected to', CompletionItemKind.Constant);
      return [...addresses, ...forms];
    }
    case 'host':
      return fromLog(seen.hosts, 'requested', CompletionItemKind.Constant);
    case 'server':
      return fromLog(seen.mcpServers, 'MCP server called', CompletionItemKind.Module);
    case 'tool': {
      const tools = fromLog(seen.mcpTools, 'MCP tool called', CompletionItemKind.Function);
      if (!context.byName) return tools;
      return tools.map((t) => {
        const name = t.label.slice(t.label.indexOf('/') + 1);
        return { ...t, label: name, filterText: name, textEdit: { range, newText: name } };
      });
    }
  }
}

function described(what: string, s: Seen): string {
  const times = s.count === 1 ? 'once' : `${s.count} times`;
  const denied = s.denied > 0 ? `, denied ${s.denied === s.count ? 'each time' : s.denied}` : '';
  return `seen in the audit log: ${what} ${times}${denied}`;
}
