/**
 * "Allow this" / "Deny this": a permit or forbid for exactly one audit event, appended to a
 * policy file. Every string from the event goes through the policy core's escaping, and the
 * edited text is checked, and the event judged again, before the edit is offered.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  checkPolicy,
  commentString,
  describeRequest,
  explain,
  formatDiagnostic,
  parseRequest,
  permitFor,
  RequestError,
  type JudgeOptions,
  type Request,
} from '@leash/policies';
import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import type { PolicyDocuments } from './documents';
import { idOf, policies } from './policy-text';
import type { AuditEvent, PolicyFromEventParams, PolicyFromEventResult } from './protocol';

type FileAction = 'ReadFile' | 'WriteFile';
const ACCESS_ACTIONS: Record<string, FileAction[]> = {
  read: ['ReadFile'],
  write: ['WriteFile'],
  readwrite: ['ReadFile', 'WriteFile'],
};

const badEvent = (message: string): ResponseError<void> =>
  new ResponseError(ErrorCodes.InvalidParams, `cannot write a policy for this event: ${message}`);
const refused = (message: string): ResponseError<void> =>
  new ResponseError(LSPErrorCodes.RequestFailed, message);

/** The requests an event stands for: one per access of a file open, or its connect. */
export function requestsOf(event: AuditEvent): Request[] {
  if (event === null || typeof event !== 'object') throw badEvent('it is not an object.');
  const { principal, kind, action } = event;
  try {
    if (kind === 'file') {
      const path = event.path ?? event.resource;
      const fromAccess = ACCESS_ACTIONS[event.access ?? ''];
      const actions =
        fromAccess ?? (action === 'ReadFile' || action === 'WriteFile' ? [action] : []);
      if (actions.length === 0) throw new RequestError('a file event needs "access" or "action".');
      return actions.map((a) => parseRequest({ principal, action: a, resource: path }));
    }
    if (kind === 'net') {
      const { ip, port } = event;
      const resource =
        ip === undefined || port === undefined
          ? event.resource
          : ip.includes(':')
            ? `[${ip}]:${port}`
            : `${ip}:${port}`;
      return [parseRequest({ principal, action: 'Connect', resource })];
    }
    if (kind === 'exec') {
      const program = event.path ?? event.resource;
      return [
        parseRequest({
          principal,
          action: 'Exec',
          resource: program,
          context: { argv: event.argv ?? [] },
        }),
      ];
    }
    if (kind === 'http') {
      const host = event.host ?? event.resource ?? '';
      const resource = host.includes(':')
        ? `[${host}]:${event.port ?? 443}`
        : `${host}:${event.port ?? 443}`;
      const context = { method: event.method ?? 'GET', path: event.path ?? '/' };
      return [parseRequest({ principal, action: 'HttpRequest', resource, context })];
    }
    if (kind === 'mcp' && action === 'McpCall') {
      const resource =
        event.server !== undefined && event.tool !== undefined
          ? `${event.server}/${event.tool}`
          : event.resource;
      const context = { arguments: event.arguments ?? '{}' };
      return [parseRequest({ principal, action: 'McpCall', resource, context })];
    }
  } catch (err) {
    if (err instanceof RequestError) throw badEvent(err.message);
    throw err;
  }
  throw badEvent(
    `"${String(kind)}" ${String(action)} events are not decided by a policy ` +
      '(only "file", "net", "exec", "http" and "mcp" McpCall events are).',
  );
}

function freshId(taken: Set<string>, base: string): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

/** A permit from the core's `permitFor`; a forbid is the same policy with the other effect. */
function policyFor(request: Request, id: string, decision: 'allow' | 'deny'): string {
  const permit = permitFor(request, id);
  if (decision === 'allow') return permit;
  // permitFor writes `@id(…)` on its own line and the effect at the start of the next one.
  const at = permit.indexOf('\npermit (') + 1;
  return `${permit.slice(0, at)}forbid${permit.slice(at + 'permit'.length)}`;
}

export class PolicyFromEvent {
  constructor(private readonly docs: PolicyDocuments) {}

  handle(params: PolicyFromEventParams): PolicyFromEventResult {
    const { uri } = params.textDocument;
    const want = params.decision;
    if (want !== 'allow' && want !== 'deny') throw badEvent('"decision" must be allow or deny.');
    const requests = requestsOf(params.event);
    const doc = this.docs.get(uri);
    const text = doc ? doc.getText() : this.readSaved(uri);
    const options: JudgeOptions = this.docs.judgeOptions();

    const check = doc ? this.docs.check(doc) : checkPolicy(text, uri);
    const problems = check.diagnostics.filter((d) => d.severity === 'error');
    if (problems.length > 0) {
      throw refused(
        `the policy file has errors, so no policy was added; fix them first: ` +
          formatDiagnostic(problems[0] as (typeof problems)[number]),
      );
    }

    // Allowing a read-and-write open needs both sides; denying either side denies it.
    const judged = requests.map((r) => ({ request: r, before: explain(text, uri, r, options) }));
    const todo = judged.filter(({ before }) => before.decision !== want);
    const what = requests.map(describeRequest).join(' and ');
    if (want === 'allow' ? todo.length === 0 : todo.length < judged.length) {
      throw refused(`${what} is already ${want === 'allow' ? 'allowed' : 'denied'} by this file.`);
    }
    const side = todo.find(({ request }) => request.action === params.event.action) ?? todo[0];
    const needed = want === 'allow' ? todo : [side as (typeof todo)[number]];

    const taken = new Set(policies(text).flatMap((p) => idOf(p) ?? []));
    const ids: string[] = [];
    const parts = needed.map(({ request }) => {
      const id = freshId(taken, `${want}-${request.action.toLowerCase()}`);
      ids.push(id);
      return policyFor(request, id, want);
    });
    const eventId = Number.isSafeInteger(params.event.id) ? ` ${params.event.id}` : '';
    const past = want === 'allow' ? 'Allowed' : 'Denied';
    const comment = `// ${past} from audit event${eventId}: ${commentString(what)}`;
    const added = `${comment}\n${parts.join('\n')}\n`;
    const separator = text === '' ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    const edited = text + separator + added;

    this.verify(edited, uri, options, requests, want);
    const end = doc ? doc.positionAt(text.length) : endOf(text);
    return {
      edit: {
        documentChanges: [
          {
            textDocument: { uri, version: doc?.version ?? null },
            edits: [{ range: { start: end, end }, newText: separator + added }],
          },
        ],
      },
      ids,
      text: added,
    };
  }

  /** The edited text must check, and the event must get `want` from it. */
  private verify(
    edited: string,
    uri: string,
    options: JudgeOptions,
    requests: Request[],
    want: 'allow' | 'deny',
  ): void {
    const errors = checkPolicy(edited, uri).diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      const first = formatDiagnostic(errors[0] as (typeof errors)[number]);
      throw refused(`the new policy would not compile, so it was not added: ${first}`);
    }
    const after = requests.map((r) => explain(edited, uri, r, options));
    const flipped =
      want === 'allow'
        ? after.every((a) => a.decision === 'allow')
        : after.some((a) => a.decision === 'deny');
    if (!flipped || after.some((a) => a.agree === false)) {
      const still = after.find((a) => a.decision !== want) ?? after[0];
      const by = still?.policies?.length ? ` by ${still.policies.join(', ')}` : '';
      throw refused(
        `a new ${want === 'allow' ? 'permit' : 'forbid'} would not change the decision: ` +
          `${still?.request ?? 'the event'} would still get ${still?.decision}${by}` +
          (want === 'allow' ? ' (a forbid always wins over a permit; narrow that forbid).' : '.'),
      );
    }
  }

  private readSaved(uri: string): string {
    const path = uri.startsWith('file:') ? fileURLToPath(uri) : null;
    if (path === null || !existsSync(path)) {
      throw badEvent(`${uri} is neither open in the editor nor a file on disk.`);
    }
    return readFileSync(path, 'utf8');
  }
}

function endOf(text: string): { line: number; character: number } {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: (lines[lines.length - 1] ?? '').length };
}
