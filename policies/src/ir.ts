/**
 * The compiled form of a Cedar policy set: what the kernel and the proxy enforce.
 * This file is the contract between `policies` (which produces it) and `bpf`, `helper`, the
 * HTTP proxy and the MCP gateway (which enforce it). It is plain JSON so it can cross the
 * N-API boundary.
 *
 * Semantics, identical to Cedar's: a request is denied if any forbid rule matches;
 * otherwise allowed if any permit rule matches; otherwise denied by default.
 * A rule matches when every one of its matchers holds (conjunction); a Cedar policy
 * whose condition is a disjunction compiles to several rules sharing its id.
 */

export type Effect = 'permit' | 'forbid';
export type FileAccess = 'read' | 'write';

/**
 * Path matchers work on absolute, normalised paths without a trailing slash.
 * - `exact`: the path equals `value`.
 * - `prefix`: the path equals `value` or lies below it, component-aware
 *   (`/work` covers `/work/a` but never `/workspace`; `/` covers everything).
 * - `suffix`: the path ends with `value` as a plain string (`.env` matches
 *   `/w/prod.env` and `/w/.env`; `/.env` matches only files named `.env`).
 * `negate` inverts the matcher (from `unless` or `!`).
 */
export interface PathMatcher {
  kind: 'exact' | 'prefix' | 'suffix';
  value: string;
  negate?: boolean;
}

export interface FileRule {
  /** The `@id` of the Cedar policy this rule came from (or a `leash:` built-in id). */
  id: string;
  effect: Effect;
  /** The accesses this rule speaks about (from the policy's actions). */
  access: FileAccess[];
  /** All must hold. An empty list matches every path. */
  match: PathMatcher[];
}

/**
 * Connect matchers. `cidr` is a normalised CIDR (`10.0.0.0/8`, `::1/128`); an
 * IPv4-mapped IPv6 address is judged as the IPv4 address it carries. `port`
 * is an inclusive range.
 */
export type ConnectMatcher =
  | { kind: 'cidr'; cidr: string; negate?: boolean }
  | { kind: 'port'; lo: number; hi: number; negate?: boolean };

export interface ConnectRule {
  id: string;
  effect: Effect;
  /** All must hold. An empty list matches every endpoint. */
  match: ConnectMatcher[];
}

/**
 * Cedar `==` or `like` on a string. `like` parts are the literal pieces between `*` wildcards,
 * so `*.github.com` is `['', '.github.com']` and `a*b*` is `['a', 'b', '']`; a pattern without
 * a wildcard is written as `equals`. Matching is Cedar's: case-sensitive, `*` matches any run of
 * characters (including none and including `/`).
 */
export type StringMatcher =
  | { kind: 'equals'; value: string; negate?: boolean }
  | { kind: 'like'; parts: string[]; negate?: boolean };

/**
 * Exec matchers, judged when a program is executed.
 * - `program`: the program's canonical path (the file the kernel executes).
 * - `argv`: Cedar's `context.argv.contains(…)`, `containsAll([…])`, `containsAny([…])` on the
 *   arguments argv[1..] as a set (`contains` has exactly one value).
 * - `args`: a string matcher on argv[1..] joined by single spaces (`context.args`).
 */
export type ExecMatcher =
  | { on: 'program'; path: PathMatcher }
  | {
      on: 'argv';
      op: 'contains' | 'containsAll' | 'containsAny';
      values: string[];
      negate?: boolean;
    }
  | { on: 'args'; match: StringMatcher };

export interface ExecRule {
  id: string;
  effect: Effect;
  /** All must hold. An empty list matches every execution. */
  match: ExecMatcher[];
}

/**
 * HTTP request matchers, judged by the proxy.
 * - `host`: the lower-case host name, without port or trailing dot (`Host` entity id / `name`).
 * - `port`: an inclusive range of the destination port.
 * - `method`: the upper-case method (`GET`).
 * - `path`: the request target's path including the query, as sent (`/v1/x?y=1`).
 */
export type HttpMatcher =
  | { on: 'host'; match: StringMatcher }
  | { on: 'port'; lo: number; hi: number; negate?: boolean }
  | { on: 'method'; match: StringMatcher }
  | { on: 'path'; match: StringMatcher };

export interface HttpRule {
  id: string;
  effect: Effect;
  /** All must hold. An empty list matches every request. */
  match: HttpMatcher[];
  /**
   * From `@inject_header("Name: value")` on a permit: the proxy adds this header to a request
   * the rule allows. `value` may hold `${secret:NAME}` references, NAME = [A-Za-z_][A-Za-z0-9_]*,
   * which the proxy resolves on the host; the workload never sees them.
   */
  injectHeader?: { name: string; value: string };
}

/**
 * MCP tool-call matchers, judged by the MCP gateway.
 * - `server`: the server's name (`McpServer` id, and `McpTool`'s `server` attribute).
 * - `tool`: the tool's name (`McpTool`'s `name` attribute; its id is `<server>/<tool>`).
 * - `arguments`: the call's arguments as JSON text (`context.arguments`).
 */
export type McpMatcher =
  | { on: 'server'; match: StringMatcher }
  | { on: 'tool'; match: StringMatcher }
  | { on: 'arguments'; match: StringMatcher };

export interface McpRule {
  id: string;
  effect: Effect;
  /** All must hold. An empty list matches every call. */
  match: McpMatcher[];
}

/** Everything enforced for one principal (`Agent::"<name>"`) of one session. */
export interface PrincipalIR {
  principal: string;
  files: FileRule[];
  connects: ConnectRule[];
  exec: ExecRule[];
  http: HttpRule[];
  mcp: McpRule[];
}

export interface PolicyIR {
  /** sha256 of the policy text, hex. */
  hash: string;
  principals: Record<string, PrincipalIR>;
}

export type Decision = 'allow' | 'deny';

export interface Verdict {
  decision: Decision;
  /** Determining policy ids: the matching forbids on a deny, the matching permits on an allow,
   *  empty on a default deny. Sorted, without repeats. */
  policies: string[];
}
