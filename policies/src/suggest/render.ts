/**
 * Suggested policies as Cedar text. Paths, addresses and principal names were chosen by the
 * workload, so each one is written as an escaped string literal (never spliced into syntax),
 * and in comments only in a form that cannot end the comment or the line.
 */
import { cedarString } from '../explain';
import type { FileAccess } from '../ir';

/** A permit for file reads or writes: a directory and everything below it, or exact files. */
export interface FilePermit {
  kind: 'file';
  id: string;
  principal: string;
  access: FileAccess;
  /** `Dir` id (`@workspace/src`, `/srv/data`) when grouped, else undefined. */
  dir?: string;
  /** The exact files, when not grouped; with `dir`, the files seen in it. */
  files: string[];
  /** Where the files were seen (the real directory), for the comment. */
  where: string;
}

export interface ConnectPermit {
  kind: 'connect';
  id: string;
  principal: string;
  ip: string;
  ports: number[];
}

/** A permit to run one program, with any arguments. */
export interface ExecPermit {
  kind: 'exec';
  id: string;
  principal: string;
  program: string;
}

/** A permit for HTTP requests to one host, on the ports seen, with any method and path. */
export interface HttpPermit {
  kind: 'http';
  id: string;
  principal: string;
  host: string;
  ports: number[];
}

/** A permit to call one MCP tool, with any arguments. */
export interface McpPermit {
  kind: 'mcp';
  id: string;
  principal: string;
  server: string;
  tool: string;
}

export type Permit = FilePermit | ConnectPermit | ExecPermit | HttpPermit | McpPermit;

const ACTION: Record<FileAccess, string> = { read: 'ReadFile', write: 'WriteFile' };
const SHOWN = 3;

/**
 * A string for a comment: quoted, with quotes, backslashes and every character outside
 * printable ASCII escaped, so no line break (of any kind) can end the comment early.
 */
export function commentString(s: string): string {
  let out = '';
  for (const ch of cedarString(s).slice(1, -1)) {
    const code = ch.codePointAt(0) as number;
    out += code > 0x7e ? `\\u{${code.toString(16)}}` : ch;
  }
  return `"${out}"`;
}

function listed(names: string[]): string {
  const shown = names.slice(0, SHOWN).map(commentString).join(', ');
  return names.length > SHOWN ? `${shown} and ${names.length - SHOWN} more` : shown;
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

function fileComment(p: FilePermit): string {
  const what = `${ACTION[p.access]} of ${p.files.length} file${p.files.length > 1 ? 's' : ''}`;
  const names = listed(p.files.map(baseName));
  if (p.dir !== undefined) {
    return `// ${what} seen in ${commentString(p.where)} (${names}): the directory and below`;
  }
  return `// ${what} seen in ${commentString(p.where)}: ${names}, exactly`;
}

function fileText(p: FilePermit): string {
  const head = [
    fileComment(p),
    `@id(${cedarString(p.id)})`,
    'permit (',
    `  principal == Leash::Agent::${cedarString(p.principal)},`,
    `  action == Leash::Action::"${ACTION[p.access]}",`,
  ];
  if (p.dir !== undefined) {
    return [...head, `  resource in Leash::Dir::${cedarString(p.dir)}`, ');'].join('\n');
  }
  if (p.files.length === 1) {
    return [...head, `  resource == Leash::File::${cedarString(p.files[0] as string)}`, ');'].join(
      '\n',
    );
  }
  const items = p.files.map((f) => `    Leash::File::${cedarString(f)}`).join(',\n');
  return [...head, '  resource', ')', 'when {', '  resource in [', items, '  ]', '};'].join('\n');
}

function connectText(p: ConnectPermit): string {
  const ports = p.ports.map((n) => `resource.port == ${n}`);
  const port = ports.length === 1 ? ports[0] : `(${ports.join(' || ')})`;
  const shown = p.ports.join(', ');
  return [
    `// Connect to ${commentString(p.ip)} on port${p.ports.length > 1 ? 's' : ''} ${shown}`,
    `@id(${cedarString(p.id)})`,
    'permit (',
    `  principal == Leash::Agent::${cedarString(p.principal)},`,
    '  action == Leash::Action::"Connect",',
    '  resource',
    ')',
    `when { resource.ip == ip(${cedarString(p.ip)}) && ${port} };`,
  ].join('\n');
}

function scoped(p: Permit, action: string, comment: string, resource: string, when = ''): string {
  return [
    comment,
    `@id(${cedarString(p.id)})`,
    'permit (',
    `  principal == Leash::Agent::${cedarString(p.principal)},`,
    `  action == Leash::Action::"${action}",`,
    `  resource == ${resource}`,
    `)${when ? `\nwhen { ${when} }` : ''};`,
  ].join('\n');
}

function execText(p: ExecPermit): string {
  const comment = `// Exec of ${commentString(p.program)}, with any arguments`;
  return scoped(p, 'Exec', comment, `Leash::File::${cedarString(p.program)}`);
}

function httpText(p: HttpPermit): string {
  const ports = p.ports.map((n) => `resource.port == ${n}`);
  const when = ports.length === 1 ? (ports[0] as string) : `(${ports.join(' || ')})`;
  const shown = p.ports.join(', ');
  const comment =
    `// HTTP requests to ${commentString(p.host)} on port${p.ports.length > 1 ? 's' : ''} ` +
    `${shown}, any method and path`;
  return scoped(p, 'HttpRequest', comment, `Leash::Host::${cedarString(p.host)}`, when);
}

function mcpText(p: McpPermit): string {
  const comment = `// MCP calls of tool ${commentString(p.tool)} of ${commentString(p.server)}`;
  const tool = `Leash::McpTool::${cedarString(`${p.server}/${p.tool}`)}`;
  return scoped(p, 'McpCall', comment, tool);
}

export function permitText(p: Permit): string {
  switch (p.kind) {
    case 'file':
      return fileText(p);
    case 'connect':
      return connectText(p);
    case 'exec':
      return execText(p);
    case 'http':
      return httpText(p);
    case 'mcp':
      return mcpText(p);
  }
}
