/**
 * Hover: what an action means, what an entity type carries, and for a policy (on its effect or
 * its `@id`) what it compiles to for this workspace.
 */
import {
  describeExecRule,
  describeHttpRule,
  describeMcpRule,
  type ConnectMatcher,
  type ConnectRule,
  type FileRule,
  type PathMatcher,
} from '@leash/policies';
import { MarkupKind, type Hover, type HoverParams } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { PolicyDocuments } from './documents';
import { effectOf, idOf, policyAt, qualifiedBy, tokenAt, type PolicySource } from './policy-text';
import { NAMESPACE, type SchemaInfo } from './schema';
import { describeShadowing, shadowing } from './shadowing';

export const ACTION_MEANINGS: Record<string, string> = {
  ReadFile:
    'Opening a file for reading, including the libraries a program loads; the resource is ' +
    'the File, which is in every Dir above it.',
  WriteFile:
    'Opening a file for writing, creating, truncating or appending, and replacing, renaming ' +
    'into, linking into or deleting it.',
  Exec:
    'Running a program: the resource is the program File, and `context.argv` / ' +
    '`context.args` hold the arguments it received.',
  Connect:
    'Opening a network connection to an Endpoint, judged by `resource.ip` and ' +
    '`resource.port` (and `resource.host` when known).',
  HttpRequest:
    'An HTTP request through the proxy to a Host, with `context.method` and `context.path`; ' +
    'a permit may inject a header with `@inject_header`.',
  McpCall:
    'A call of an MCP tool (an McpTool in its McpServer), with the call\u2019s arguments as ' +
    'JSON text in `context.arguments`.',
};

export class Hoverer {
  constructor(
    private readonly schema: SchemaInfo,
    private readonly docs: PolicyDocuments,
  ) {}

  hover(doc: TextDocument, params: HoverParams): Hover | null {
    const text = doc.getText();
    const offset = doc.offsetAt(params.position);
    const at = tokenAt(text, offset);
    if (!at) return null;
    const { token, before } = at;
    const range = { start: doc.positionAt(token.start), end: doc.positionAt(token.end) };
    const markdown = (value: string): Hover => ({
      contents: { kind: MarkupKind.Markdown, value },
      range,
    });

    if (token.kind === 'string' && qualifiedBy(before, 'Action')) {
      const action = this.schema.actions.get(token.value);
      if (!action) return null;
      const context = action.context.map((a) => `\`${a.name}: ${a.type}\``).join(', ');
      return markdown(
        [
          `**${NAMESPACE}::Action::"${action.name}"**`,
          '',
          ACTION_MEANINGS[action.name] ?? '',
          '',
          `Resource: ${action.resourceTypes.map((t) => `\`${NAMESPACE}::${t}\``).join(', ')}` +
            (context ? `; context: ${context}` : ''),
        ].join('\n'),
      );
    }

    if (token.kind === 'ident' && this.schema.entityTypes.has(token.text)) {
      const attrs = this.schema.entityTypes.get(token.text) ?? [];
      const list = attrs.map((a) => `- \`${a.name}\`${a.required ? '' : '?'}: \`${a.type}\``);
      return markdown(
        [`**${NAMESPACE}::${token.text}** (entity type)`, '', ...list].join('\n').trimEnd(),
      );
    }

    const policy = policyAt(text, offset);
    if (!policy) return null;
    const onHead = policy.head.start <= token.start && token.end <= policy.head.end;
    if (!onHead && !sameToken(token, effectOf(policy))) return null;
    return markdown(this.compiledForm(doc, policy));
  }

  /** What the policy compiles to for each principal of this workspace's session. */
  private compiledForm(doc: TextDocument, policy: PolicySource): string {
    const id = idOf(policy);
    const title = `**${effectOf(policy)?.text ?? 'policy'}** \`${id ?? '(no @id)'}\``;
    const result = this.docs.compileOne(doc, policy);
    if (!result.ok || !result.ir || id === null) {
      const first = result.diagnostics.find((d) => d.severity === 'error');
      const at = doc.positionAt(policy.range.start);
      const line = (first?.line ?? 1) + at.line;
      const column = (first?.line === 1 ? at.character : 0) + (first?.column ?? 1);
      const why = first ? `${line}:${column}: ${first.message}` : 'see the problems';
      return `${title}\n\nDoes not compile for this workspace yet: ${why}`;
    }

    const principals = Object.values(result.ir.principals);
    const sections = principals.map((p) => {
      const lines = [
        ...p.files.filter((r) => r.id === id).map(describeFile),
        ...p.connects.filter((r) => r.id === id).map(describeConnect),
        ...p.exec.filter((r) => r.id === id).map((r) => `kernel: ${describeExecRule(r)}`),
        ...p.http.filter((r) => r.id === id).map((r) => `proxy: ${describeHttpRule(r)}`),
        ...p.mcp.filter((r) => r.id === id).map((r) => `MCP gateway: ${describeMcpRule(r)}`),
      ];
      if (lines.length === 0) lines.push('nothing: the policy matches no request of this agent');
      const who = principals.length > 1 ? `For \`Agent::"${p.principal}"\`:\n\n` : '';
      return who + lines.map((l) => `- ${l}`).join('\n');
    });
    const where = `\`@workspace\` = \`${this.docs.workspace}\``;
    const checked = this.docs.lastCheck(doc);
    const shadows = checked && shadowing(checked, doc.getText(), id);
    const effect = effectOf(policy)?.text ?? 'permit';
    return [
      title,
      '',
      ...sections,
      '',
      `Compiled with ${where}.`,
      '',
      ...describeShadowing(shadows, effect),
    ].join('\n');
  }
}

function sameToken(a: { start: number } | undefined, b: { start: number } | undefined): boolean {
  return a !== undefined && b !== undefined && a.start === b.start;
}

function describePath(m: PathMatcher): string {
  const not = m.negate ? 'not ' : '';
  if (m.kind === 'prefix') return `${not}under ${m.value}`;
  if (m.kind === 'suffix') return `${not}ending in ${m.value}`;
  return `${not}exactly ${m.value}`;
}

export function describeFile(rule: FileRule): string {
  const where = rule.match.length ? rule.match.map(describePath).join(' and ') : 'everywhere';
  return `kernel: ${rule.effect} ${rule.access.join(' and ')} ${where}`;
}

function describeConnectMatcher(m: ConnectMatcher): string {
  const not = m.negate ? 'not ' : '';
  if (m.kind === 'cidr') return `${not}to ${m.cidr}`;
  return m.lo === m.hi ? `${not}port ${m.lo}` : `${not}ports ${m.lo}-${m.hi}`;
}

export function describeConnect(rule: ConnectRule): string {
  const where = rule.match.length
    ? rule.match.map(describeConnectMatcher).join(' and ')
    : 'anywhere';
  return `kernel: ${rule.effect} connect ${where}`;
}
