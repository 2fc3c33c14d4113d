/**
 * The oracle: Cedar's own `isAuthorized` on a request built the way the schema says. Tests hold
 * the compiled IR against it; `explain` can use it. Too slow for hot paths (about 1 ms a call).
 */
import type {
  Context,
  DetailedError,
  EntityJson,
  EntityUidJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { cedar } from './cedar';
import type { Verdict } from './ir';
import { formatAddress, parseAddress, unmap } from './ip';
import { atForms, isNormalPath, nameOf, selfAndAncestors, type Roots } from './paths';
import { schema } from './schema';

interface Common extends Roots {
  principal: string;
  session: string;
}

export type OracleRequest = Common &
  (
    | { action: 'ReadFile' | 'WriteFile'; path: string }
    | { action: 'Exec'; path: string; argv: string[] }
    | { action: 'Connect'; ip: string; port: number }
    | { action: 'HttpRequest'; host: string; port: number; method: string; path: string }
    | { action: 'McpCall'; server: string; tool: string; arguments: string }
  );

function messages(errors: DetailedError[]): string {
  return errors.map((e) => e.message).join('; ');
}

const uid = (type: string, id: string): EntityUidJson => ({ type: `Leash::${type}`, id });

/** A file with its own path and every ancestor as parent `Dir`s, real and `@` forms. */
export function fileEntity(path: string, roots: Roots): EntityJson {
  if (!isNormalPath(path)) throw new Error(`not an absolute, normalised path: ${path}`);
  const parents: EntityUidJson[] = [];
  for (const dir of selfAndAncestors(path)) {
    parents.push(uid('Dir', dir));
    for (const form of atForms(dir, roots)) parents.push(uid('Dir', form));
  }
  return { uid: uid('File', path), attrs: { path, name: nameOf(path) }, parents };
}

export function endpointEntity(ip: string, port: number): EntityJson {
  const parsed = parseAddress(ip);
  if (!parsed) throw new Error(`not an IP address: ${ip}`);
  // Cedar's ip() refuses IPv4-mapped literals, and Leash judges them as IPv4 anyway.
  const address = formatAddress(unmap(parsed));
  const id = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return {
    uid: uid('Endpoint', id),
    attrs: { ip: { __extn: { fn: 'ip', arg: address } }, port },
    parents: [],
  };
}

export function hostEntity(host: string, port: number): EntityJson {
  return { uid: uid('Host', host), attrs: { name: host, port }, parents: [] };
}

export function toolEntity(server: string, tool: string): EntityJson {
  return {
    uid: uid('McpTool', `${server}/${tool}`),
    attrs: { server, name: tool },
    parents: [uid('McpServer', server)],
  };
}

/** The resource entity and the context of a request, as the schema describes them. */
function resourceAndContext(request: OracleRequest): { resource: EntityJson; context: Context } {
  switch (request.action) {
    case 'Connect':
      return { resource: endpointEntity(request.ip, request.port), context: {} };
    case 'HttpRequest':
      return {
        resource: hostEntity(request.host, request.port),
        context: { method: request.method, path: request.path },
      };
    case 'McpCall':
      return {
        resource: toolEntity(request.server, request.tool),
        context: { arguments: request.arguments },
      };
    case 'Exec':
      return {
        resource: fileEntity(request.path, request),
        context: { argv: request.argv, args: request.argv.join(' ') },
      };
    default:
      return { resource: fileEntity(request.path, request), context: {} };
  }
}

/**
 * Cedar parses the schema and the policies once and keeps them under a name; the policies are
 * keyed by `@id`, so Cedar names them by it in its reasons. At most PREPARED_SLOTS policy sets
 * are kept; older names are reused.
 */
const SCHEMA_NAME = 'leash-oracle';
const PREPARED_SLOTS = 16;
const prepared = new Map<string, string>();
let preparedCount = 0;
let schemaReady = false;

function prepare(text: string): string {
  if (!schemaReady) {
    const answer = cedar.preparseSchema(SCHEMA_NAME, schema());
    if (answer.type === 'failure') throw new Error(messages(answer.errors));
    schemaReady = true;
  }
  const known = prepared.get(text);
  if (known) return known;

  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new Error(messages(parts.errors));
  const byId: Record<string, string> = {};
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    const id = json.type === 'success' ? json.json.annotations?.id : undefined;
    if (id === undefined) throw new Error(`a policy without @id: ${policy}`);
    byId[id] = policy;
  }
  const name = `oracle-${preparedCount++ % PREPARED_SLOTS}`;
  for (const [old, slot] of prepared) if (slot === name) prepared.delete(old);
  const answer = cedar.preparsePolicySet(name, { staticPolicies: byId });
  if (answer.type === 'failure') throw new Error(messages(answer.errors));
  prepared.set(text, name);
  return name;
}

export function authorize(text: string, request: OracleRequest): Verdict {
  const agent = uid('Agent', request.principal);
  const { resource, context } = resourceAndContext(request);
  const answer = cedar.statefulIsAuthorized({
    principal: agent,
    action: uid('Action', request.action),
    resource: resource.uid,
    context,
    preparsedSchemaName: SCHEMA_NAME,
    validateRequest: true,
    preparsedPolicySetId: prepare(text),
    entities: [{ uid: agent, attrs: {}, parents: [uid('Session', request.session)] }, resource],
  });
  if (answer.type === 'failure')
    throw new Error(`authorization failed: ${messages(answer.errors)}`);
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length) {
    throw new Error(`policy errors: ${messages(diagnostics.errors.map((e) => e.error))}`);
  }
  return { decision, policies: Array.from(new Set(diagnostics.reason)).sort() };
}
