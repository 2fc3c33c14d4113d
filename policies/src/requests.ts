/** Request sets for differential tests: ordinary paths and addresses, and the tricky ones. */

const DIRS = [
  '/',
  '/etc',
  '/work',
  '/workspace',
  '/workspace2',
  '/workspace/src',
  '/workspace/.git',
  '/workspace/.git/hooks',
  '/workspace/.gitx',
  '/workspace/.leash',
  '/workspace/.vscode',
  '/home/agent',
  '/home/agent/proj',
  '/home/agent/proj/.claude',
  '/home/agent/.ssh',
  '/home/agent/.sshx',
  '/home/agent/.config',
  '/home/agent/.config/gcloud',
  '/dev',
  '/dev/pts',
  '/tmp',
  '/tmpx',
  '/proc/self',
  '/proc/1',
  '/root',
];

const LEAVES = [
  'a.txt',
  '.env',
  'prod.env',
  '.envrc',
  'env',
  'config',
  'hooks',
  'pre-commit',
  'null',
  'id_rsa',
  '.netrc',
  'x.cedar',
];

/** Every directory itself, and each leaf in each directory. */
export const PATHS: string[] = [
  ...DIRS,
  ...DIRS.flatMap((d) => LEAVES.map((l) => (d === '/' ? `/${l}` : `${d}/${l}`))),
  '/dev/null',
  '/dev/nullx',
  '/workspace/.git/config',
  '/workspace/.git/config.lock',
  '/workspace/.mcp.json',
  '/home/agent/.npmrc',
];

const IPS = [
  '0.0.0.0',
  '127.0.0.1',
  '127.255.255.254',
  '128.0.0.1',
  '10.0.0.1',
  '10.255.255.255',
  '11.0.0.0',
  '192.168.1.20',
  '169.254.10.1',
  '224.0.0.251',
  '8.8.8.8',
  '::',
  '::1',
  '::2',
  '::ffff:127.0.0.1',
  '::ffff:10.1.2.3',
  '::ffff:8.8.8.8',
  'fe80::1',
  'ff02::fb',
  'fd00::1',
  '2001:db8::1',
];
const PORTS = [0, 22, 53, 80, 443, 1023, 1024, 5432, 8080, 65535];

export const ENDPOINTS = IPS.flatMap((ip) => PORTS.map((port) => ({ ip, port })));

const PROGRAMS = [
  '/usr/bin/git',
  '/usr/bin/gitk',
  '/bin/sh',
  '/usr/bin/curl',
  '/workspace/run.sh',
  '/workspace/node_modules/.bin/tsc',
  '/tmp/x',
  '/home/agent/.local/bin/tool',
];
const ARGVS: string[][] = [
  [],
  ['push'],
  ['push', '--force'],
  ['push', '-f', 'origin'],
  ['status'],
  ['-c', 'rm -rf /'],
  ['--force'],
  ['a b'],
  ['a', 'b'],
  [''],
  ['*'],
  ['push', 'push'],
];

/** Each program with each argument list. */
export const EXECS = PROGRAMS.flatMap((program) => ARGVS.map((argv) => ({ program, argv })));

const HOSTS = [
  'github.com',
  'api.github.com',
  'evil-github.com',
  'github.com.evil.net',
  'registry.npmjs.org',
  'localhost',
  'x',
];
const TARGETS = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/repos/a/b?x=1' },
  { method: 'POST', path: '/repos/a/b/issues' },
  { method: 'DELETE', path: '/repos/a/b' },
  { method: 'PUT', path: '/v1/*' },
  { method: 'get', path: '' },
];

/** Each host on a few ports with a few methods and paths. */
export const HTTP_REQUESTS = HOSTS.flatMap((host) =>
  [80, 443, 8443].flatMap((port) => TARGETS.map((t) => ({ host, port, ...t }))),
);

const TOOLS = [
  ['github', 'create_issue'],
  ['github', 'delete_repo'],
  ['github', 'get_file'],
  ['githubx', 'create_issue'],
  ['fs', 'read_file'],
  ['fs', 'a/b'],
];
const ARGUMENTS = ['{}', '{"path":"/etc/passwd"}', '{"repo":"leash","force":true}', ''];

export const MCP_CALLS = TOOLS.flatMap(([server, tool]) =>
  ARGUMENTS.map((args) => ({ server: server as string, tool: tool as string, arguments: args })),
);
