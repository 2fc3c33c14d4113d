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
import { checkSuggestion, compileFor, decide, type Probe, type Session } from './check';
import { groupConnects, groupFiles } from './group';
import { protectedSample, sensitive } from './protected';
import {
  commentString,
  permitText,
  type ConnectPermit,
  type FilePermit,
  type Permit,
} from './render';
import type { SeenConnect, SeenFile } from './seen';

export {
  seenFromEvents,
  type AuditEvent,
  type Seen,
  type SeenConnect,
  type SeenFile,
} from './seen';
export { commentString } from './render';
export { GROUP_AT } from './group';

export interface SuggestInput extends Roots {
  files: SeenFile[];
  connects: SeenConnect[];
  base: string;
  baseFile: string;
  session: string;
  /** Policy files the built-in rule keeps unwritable (the session's, the base, the output). */
  policyFiles?: string[];
}

export interface LeftOut {
  principal: string;
  action: 'ReadFile' | 'WriteFile' | 'Connect';
  /** A path, or `ip:port` (`[ip]:port` for IPv6). */
  resource: string;
  reason: string;
}

function leftOutOf(p: Probe, reason: string): LeftOut {
  if (p.kind === 'connect') {
    const resource = p.ip.includes(':') ? `[${p.ip}]:${p.port}` : `${p.ip}:${p.port}`;
    return { principal: p.principal, action: 'Connect', resource, reason };
  }
  const action = p.access === 'read' ? 'ReadFile' : 'WriteFile';
  return { principal: p.principal, action, resource: p.path, reason };
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

function principalsOf(input: SuggestInput): string[] {
  return [...new Set([...input.files, ...input.connects].map((e) => e.principal))].sort();
}

/** Why a seen request cannot be expressed at all, or undefined when it can. */
function malformed(e: SeenFile | SeenConnect): string | undefined {
  if (!isWellFormed(e.principal) || e.principal === '') return 'the principal is not valid text';
  if ('path' in e) {
    if (!isWellFormed(e.path)) return 'the path is not valid Unicode';
    if (!isNormalPath(e.path)) return 'not an absolute, normalised path';
    return undefined;
  }
  if (!parseAddress(e.ip)) return 'not an IP address';
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) return 'not a port';
  return undefined;
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
  const seen: Probe[] = [
    ...input.files.map((f): Probe => ({ kind: 'file', ...f })),
    ...input.connects.map((c): Probe => ({ kind: 'connect', ...c })),
  ];
  for (const raw of seen) {
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
    } else {
      needConnects.set(p.principal, [...(needConnects.get(p.principal) ?? []), p]);
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

  const permits: Array<Omit<FilePermit, 'id'> | Omit<ConnectPermit, 'id'>> = [];
  for (const [key, paths] of [...needFiles].sort()) {
    const [principal, access] = JSON.parse(key) as [string, 'read' | 'write'];
    permits.push(...groupFiles(principal, access, paths, input, mayOpen(principal, access)));
  }
  for (const [principal, endpoints] of [...needConnects].sort()) {
    permits.push(...groupConnects(principal, endpoints));
  }

  const taken = new Set(policyAnnotations(input.base).keys());
  const counters = new Map<string, number>();
  const named: Permit[] = permits.map((p) => {
    const what = p.kind === 'connect' ? 'connect' : p.access;
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
