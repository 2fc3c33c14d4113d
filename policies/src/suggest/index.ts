/**
 * `suggest`: a minimal Cedar policy that, added to a base policy, allows what a session was
 * seen to do, and nothing the base or the built-in rules protect. The suggestion is checked
 * (see check.ts) before it is returned; a suggestion that fails its check is an error.
 */
import { policyAnnotations } from '../annotations';
import { compilePolicy } from '../compile';
import type { Diagnostic } from '../diagnostics';
import { formatAddress, parseAddress, unmap } from '../ip';
import { isWellFormed } from '../limits';
import { isAtOrBelow, isNormalPath, type Roots } from '../paths';
import {
  actionAndResource,
  checkSuggestion,
  compileFor,
  decide,
  type LeftOutAction,
  type Probe,
  type Session,
} from './check';
import { groupConnects, groupFiles } from './group';
import { protectedSample, sensitive } from './protected';
import {
  commentString,
  permitText,
  type ConnectPermit,
  type ExecPermit,
  type FilePermit,
  type HttpPermit,
  type McpPermit,
  type Permit,
} from './render';
import type { SeenConnect, SeenExec, SeenFile, SeenHttp, SeenMcp } from './seen';

export {
  seenFromEvents,
  type AuditEvent,
  type Seen,
  type SeenConnect,
  type SeenExec,
  type SeenFile,
  type SeenHttp,
  type SeenMcp,
} from './seen';
export { commentString } from './render';
export { GROUP_AT } from './group';

export interface SuggestInput extends Roots {
  files: SeenFile[];
  connects: SeenConnect[];
  execs?: SeenExec[];
  http?: SeenHttp[];
  mcp?: SeenMcp[];
  base: string;
  baseFile: string;
  session: string;
  /** Policy files the built-in rule keeps unwritable (the session's, the base, the output). */
  policyFiles?: string[];
}

export interface LeftOut {
  principal: string;
  action: LeftOutAction;
  /** A path, `ip:port` (`[ip]:port` for IPv6), `host:port`, or `server/tool`. */
  resource: string;
  reason: string;
}

function leftOutOf(p: Probe, reason: string): LeftOut {
  return { principal: p.principal, ...actionAndResource(p), reason };
}

/** An address as Cedar's ip() takes it: IPv4-mapped addresses as the IPv4 they carry. */
function cedarAddress(ip: string): string {
  const parsed = parseAddress(ip);
  if (!parsed) throw new Error(`not an IP address: ${ip}`);
  return formatAddress(unmap(parsed));
}

export interface Suggestion {
  /** The suggested policies as Cedar text, to append to the base; empty when none is needed. */
  text: string;
  ids: string[];
  /** Distinct requests the suggestion covers, and those the base allows already. */
  covered: number;
  alreadyAllowed: number;
  leftOut: LeftOut[];
}

/** The base does not compile, or the suggestion failed its check: nothing may be offered. */
export class SuggestError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(`${message}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const ID_PREFIX = 'suggested-';

function probesOf(input: SuggestInput): Probe[] {
  return [
    ...input.files.map((f): Probe => ({ kind: 'file', ...f })),
    ...input.connects.map((c): Probe => ({ kind: 'connect', ...c })),
    ...(input.execs ?? []).map((e): Probe => ({ kind: 'exec', ...e })),
    ...(input.http ?? []).map((h): Probe => ({ kind: 'http', ...h })),
    ...(input.mcp ?? []).map((m): Probe => ({ kind: 'mcp', ...m })),
  ];
}

function principalsOf(input: SuggestInput): string[] {
  return [...new Set(probesOf(input).map((e) => e.principal))].sort();
}

const badPort = (port: number): boolean => !Number.isInteger(port) || port < 0 || port > 65535;

/** Why a seen request cannot be expressed at all, or undefined when it can. */
function malformed(p: Probe): string | undefined {
  if (!isWellFormed(p.principal) || p.principal === '') return 'the principal is not valid text';
  switch (p.kind) {
    case 'file':
    case 'exec': {
      const path = p.kind === 'file' ? p.path : p.program;
      if (!isWellFormed(path)) return 'the path is not valid Unicode';
      if (!isNormalPath(path)) return 'not an absolute, normalised path';
      if (p.kind === 'exec' && !p.argv.every(isWellFormed))
        return 'an argument is not valid Unicode';
      return undefined;
    }
    case 'connect':
      if (!parseAddress(p.ip)) return 'not an IP address';
      return badPort(p.port) ? 'not a port' : undefined;
    case 'http':
      if (!isWellFormed(p.host) || !/^[a-z0-9._:-]+$/.test(p.host) || p.host.endsWith('.')) {
        return 'not a lower-case host name';
      }
      if (!isWellFormed(p.path) || !isWellFormed(p.method)) return 'not valid Unicode';
      return badPort(p.port) ? 'not a port' : undefined;
    case 'mcp':
      if (![p.server, p.tool, p.arguments].every(isWellFormed)) return 'not valid Unicode';
      if (p.server === '' || p.server.includes('/') || p.tool === '') {
        return 'not an MCP server and tool name';
      }
      return undefined;
  }
}

export function suggestPolicy(input: SuggestInput): Suggestion {
  const session: Session = {
    session: input.session,
    workspace: input.workspace,
    home: input.home,
    policyFiles: input.policyFiles ?? [],
  };
  const principals = principalsOf(input).filter((p) => isWellFormed(p) && p !== '');
  const leftOut: LeftOut[] = [];
  const denied: Probe[] = [];
  const covered: Probe[] = [];
  let alreadyAllowed = 0;

  const baseCheck = compilePolicy(input.base, input.baseFile, {
    session: input.session,
    principals: principals.length ? principals : ['shell'],
    workspace: input.workspace,
    home: input.home,
  });
  if (!baseCheck.ok) {
    const errors = baseCheck.diagnostics.filter((d) => d.severity === 'error');
    throw new SuggestError(
      `the base policy ${input.baseFile} is not valid`,
      errors.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`),
      errors,
    );
  }
  const { rules } = compileFor(input.base, input.baseFile, principals, session);

  // Sort each request: allowed already, left out (and so must stay denied), or to permit.
  const needFiles = new Map<string, string[]>();
  const needConnects = new Map<string, Array<{ ip: string; port: number }>>();
  // Keyed by JSON of [principal, program], [principal, host], [principal, server, tool].
  const needExecs = new Set<string>();
  const needHttp = new Map<string, Set<number>>();
  const needMcp = new Set<string>();
  for (const raw of probesOf(input)) {
    const bad = malformed(raw);
    if (bad) {
      leftOut.push(leftOutOf(raw, bad));
      continue;
    }
    const p: Probe = raw.kind === 'connect' ? { ...raw, ip: cedarAddress(raw.ip) } : raw;
    const verdict = decide(rules, p);
    if (verdict.decision === 'allow') {
      alreadyAllowed++;
      continue;
    }
    const why =
      verdict.policies.length > 0
        ? `forbidden by ${verdict.policies.join(', ')}`
        : p.kind === 'file'
          ? sensitive(p.path, p.access, input)
          : undefined;
    if (why) {
      leftOut.push(leftOutOf(p, why));
      denied.push(p);
      continue;
    }
    covered.push(p);
    if (p.kind === 'file') {
      const key = JSON.stringify([p.principal, p.access]);
      needFiles.set(key, [...(needFiles.get(key) ?? []), p.path]);
    } else if (p.kind === 'connect') {
      needConnects.set(p.principal, [...(needConnects.get(p.principal) ?? []), p]);
    } else if (p.kind === 'exec') {
      needExecs.add(JSON.stringify([p.principal, p.program]));
    } else if (p.kind === 'http') {
      const key = JSON.stringify([p.principal, p.host]);
      needHttp.set(key, (needHttp.get(key) ?? new Set()).add(p.port));
    } else {
      needMcp.add(JSON.stringify([p.principal, p.server, p.tool]));
    }
  }

  // A directory may be permitted whole only if every sensitive path below it stays denied
  // by a forbid, or was allowed already.
  const mayOpen = (principal: string, access: 'read' | 'write') => (dir: string) =>
    protectedSample(input, [dir], session.policyFiles).every((path) => {
      if (!isAtOrBelow(path, dir) || !sensitive(path, access, input)) return true;
      const v = decide(rules, { kind: 'file', principal, path, access });
      return v.decision === 'allow' || v.policies.length > 0;
    });

  const permits: Array<
    | Omit<FilePermit, 'id'>
    | Omit<ConnectPermit, 'id'>
    | Omit<ExecPermit, 'id'>
    | Omit<HttpPermit, 'id'>
    | Omit<McpPermit, 'id'>
  > = [];
  for (const [key, paths] of [...needFiles].sort()) {
    const [principal, access] = JSON.parse(key) as [string, 'read' | 'write'];
    permits.push(...groupFiles(principal, access, paths, input, mayOpen(principal, access)));
  }
  for (const [principal, endpoints] of [...needConnects].sort()) {
    permits.push(...groupConnects(principal, endpoints));
  }
  for (const key of [...needExecs].sort()) {
    const [principal, program] = JSON.parse(key) as [string, string];
    permits.push({ kind: 'exec', principal, program });
  }
  for (const [key, ports] of [...needHttp].sort()) {
    const [principal, host] = JSON.parse(key) as [string, string];
    permits.push({ kind: 'http', principal, host, ports: [...ports].sort((a, b) => a - b) });
  }
  for (const key of [...needMcp].sort()) {
    const [principal, server, tool] = JSON.parse(key) as [string, string, string];
    permits.push({ kind: 'mcp', principal, server, tool });
  }

  const taken = new Set(policyAnnotations(input.base).keys());
  const counters = new Map<string, number>();
  const named: Permit[] = permits.map((p) => {
    const what = p.kind === 'file' ? p.access : p.kind;
    let n = counters.get(what) ?? 0;
    let id: string;
    do id = `${ID_PREFIX}${what}-${++n}`;
    while (taken.has(id));
    counters.set(what, n);
    return { ...p, id } as Permit;
  });

  const text = render(input, named, leftOut);
  const ids = named.map((p) => p.id);

  // The sample of protected paths the base denies must stay denied.
  const groupDirs = named.flatMap((p) => (p.kind === 'file' && p.dir ? [p.where] : []));
  for (const principal of principals) {
    for (const path of protectedSample(input, groupDirs, session.policyFiles)) {
      for (const access of ['read', 'write'] as const) {
        const probe: Probe = { kind: 'file', principal, path, access };
        const v = decide(rules, probe);
        if (v.decision === 'deny' && (v.policies.length > 0 || sensitive(path, access, input))) {
          denied.push(probe);
        }
      }
    }
  }

  const problems = checkSuggestion({
    base: input.base,
    baseFile: input.baseFile,
    suggestion: text,
    ids,
    principals,
    session,
    covered,
    denied,
  });
  if (problems.length) throw new SuggestError('the suggestion failed its check', problems);
  return { text, ids, covered: covered.length, alreadyAllowed, leftOut };
}

function render(input: SuggestInput, permits: Permit[], leftOut: LeftOut[]): string {
  if (permits.length === 0 && leftOut.length === 0) return '';
  const lines = [
    `// Suggested by \`leash policy suggest\` from session ${commentString(input.session)}:`,
    `// what it did that the base policy does not allow. Add it to the base policy.`,
  ];
  if (permits.length === 0)
    lines.push('// Nothing to add: the base allows everything suggestible.');
  for (const l of leftOut) {
    const reason = commentString(l.reason).slice(1, -1);
    lines.push(
      `// not suggested: ${l.action} ${commentString(l.resource)} by ` +
        `${commentString(l.principal)}, ${reason}`,
    );
  }
  return [lines.join('\n'), ...permits.map(permitText)].join('\n\n') + '\n';
}
