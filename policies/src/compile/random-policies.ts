/**
 * Random policy sets for the property tests: a few permits and forbids of one kind of action,
 * with conditions of up to three levels of `&&`, `||` and `!` over atoms the compiler knows.
 */
import { pick, seededRandom } from '../random';

/** A seeded generator, so that a failure reproduces. */
export function generator(seed: number) {
  const next = seededRandom(seed);
  return { next, pick: <T>(items: readonly T[]): T => pick(next, items) };
}

export type Gen = ReturnType<typeof generator>;

const FILE_ATOMS = [
  ...[
    '/',
    '/workspace',
    '/work',
    '@workspace',
    '@workspace/.git',
    '@home',
    '@home/.ssh',
    '/tmp',
  ].map((d) => `resource in Leash::Dir::"${d}"`),
  'resource == Leash::File::"/workspace/.env"',
  'resource.path == "/tmp/a.txt"',
  ...['.env', '/.env', 'txt', '/config', 'a'].map((s) => `resource.path like "*${s}"`),
  ...['/workspace/', '/tmp/', '/home/agent/'].map((d) => `resource.path like "${d}*"`),
  ...['config', '.env', 'hooks'].map((n) => `resource.name == "${n}"`),
  ...['.env', 'rc', 'x'].map((s) => `resource.name like "*${s}"`),
  'true',
  'false',
];

const CONNECT_ATOMS = [
  ...['10.0.0.0/8', '127.0.0.0/16', '192.168.1.0/24', 'fd00::/8', '::/0', '0.0.0.0/0'].map(
    (c) => `resource.ip.isInRange(ip("${c}"))`,
  ),
  ...['8.8.8.8', '::1', '10.0.0.1'].map((a) => `resource.ip == ip("${a}")`),
  ...['isLoopback', 'isIpv4', 'isIpv6', 'isMulticast'].map((m) => `resource.ip.${m}()`),
  ...['==', '!=', '<', '<=', '>', '>='].flatMap((op) =>
    [22, 443, 1024].map((n) => `resource.port ${op} ${n}`),
  ),
];

const EXEC_ATOMS = [
  ...['/usr/bin', '/bin', '@workspace', '/'].map((d) => `resource in Leash::Dir::"${d}"`),
  'resource == Leash::File::"/usr/bin/git"',
  'resource.name == "sh"',
  'resource.path like "*/tsc"',
  ...['push', '--force', '*', ''].map((a) => `context.argv.contains("${a}")`),
  'context.argv.containsAll(["push", "--force"])',
  'context.argv.containsAny(["-f", "--force"])',
  'context.argv.containsAll(["a"])',
  ...['push*', '*--force*', '-c *', '* *', '\\*', ''].map((p) => `context.args like "${p}"`),
  'context.args == "status"',
  'context.args != ""',
];

const HTTP_ATOMS = [
  'resource == Leash::Host::"github.com"',
  'resource in [Leash::Host::"api.github.com", Leash::Host::"x"]',
  ...['*.github.com', '*github.com', 'github.com*', '*.*', '*'].map(
    (p) => `resource.name like "${p}"`,
  ),
  'resource.name == "localhost"',
  ...['==', '!=', '<', '>='].flatMap((op) => [443, 1024].map((n) => `resource.port ${op} ${n}`)),
  ...['GET', 'POST', 'DELETE'].map((m) => `context.method == "${m}"`),
  '["GET", "PUT"].contains(context.method)',
  ...['/repos/*', '*?*', '/', '*issues', '/v1/\\*'].map((p) => `context.path like "${p}"`),
  'context.path == "/"',
];

const MCP_ATOMS = [
  'resource in Leash::McpServer::"github"',
  'resource == Leash::McpTool::"github/create_issue"',
  'resource in [Leash::McpTool::"fs/a/b", Leash::McpTool::"fs/read_file"]',
  ...['create_*', '*_repo', 'a/*', '*'].map((p) => `resource.name like "${p}"`),
  'resource.name == "get_file"',
  'resource.server == "fs"',
  'resource.server like "github*"',
  ...['*passwd*', '{}', '*\\"force\\":true*', ''].map((p) => `context.arguments like "${p}"`),
];

export type Kind = 'file' | 'connect' | 'exec' | 'http' | 'mcp';

const KINDS: Record<Exclude<Kind, 'file'>, { action: string; atoms: string[] }> = {
  connect: { action: 'Connect', atoms: CONNECT_ATOMS },
  exec: { action: 'Exec', atoms: EXEC_ATOMS },
  http: { action: 'HttpRequest', atoms: HTTP_ATOMS },
  mcp: { action: 'McpCall', atoms: MCP_ATOMS },
};

function condition(g: Gen, atoms: string[], depth: number): string {
  const r = g.next();
  if (depth === 0 || r < 0.4) return g.pick(atoms);
  if (r < 0.55) return `!(${condition(g, atoms, depth - 1)})`;
  const op = r < 0.8 ? '&&' : '||';
  return `(${condition(g, atoms, depth - 1)} ${op} ${condition(g, atoms, depth - 1)})`;
}

export function policySet(g: Gen, kind: Kind): string {
  const policies = ['@id("exec") permit (principal, action == Leash::Action::"Exec", resource);'];
  if (kind === 'exec') policies.pop();
  const count = 2 + Math.floor(g.next() * 4);
  for (let i = 0; i < count; i++) {
    const effect = g.pick(['permit', 'permit', 'forbid']);
    const action =
      kind !== 'file'
        ? `action == Leash::Action::"${KINDS[kind].action}"`
        : g.pick([
            'action == Leash::Action::"ReadFile"',
            'action == Leash::Action::"WriteFile"',
            'action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"]',
          ]);
    const resource =
      kind === 'file' || kind === 'exec'
        ? g.pick(['resource', 'resource in Leash::Dir::"@workspace"', 'resource is Leash::File'])
        : kind === 'http'
          ? g.pick(['resource', 'resource == Leash::Host::"github.com"', 'resource is Leash::Host'])
          : kind === 'mcp'
            ? g.pick(['resource', 'resource in Leash::McpServer::"github"'])
            : 'resource';
    const atoms = kind === 'file' ? FILE_ATOMS : KINDS[kind].atoms;
    const clauses = [0, 1]
      .filter(() => g.next() < 0.6)
      .map(() => `${g.pick(['when', 'unless'])} { ${condition(g, atoms, 3)} }`);
    policies.push(
      `@id("p${i}") ${effect} (principal, ${action}, ${resource}) ${clauses.join(' ')};`,
    );
  }
  return policies.join('\n');
}
