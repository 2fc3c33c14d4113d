/**
 * The compiled form of a Cedar policy set: what the kernel and the proxy enforce.
 * This file is the contract between `policies` (which produces it) and `bpf` and
 * `helper` (which enforce it). It is plain JSON so it can cross the N-API boundary.
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

/** Everything enforced for one principal (`Agent::"<name>"`) of one session. */
export interface PrincipalIR {
  principal: string;
  files: FileRule[];
  connects: ConnectRule[];
  /** Exec is not narrowed yet: the compiler refuses a policy unless Exec is permitted always. */
  exec: 'allow-all';
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
