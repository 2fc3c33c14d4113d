/**
 * Random requests for the differential tests: strings glued from pieces that the random
 * policies' patterns speak about, so that near misses (a prefix, a doubled separator, a
 * literal `*`) come up often.
 */
import type { ExecFacts } from '../differential';
import type { HttpRequestFacts, McpCallFacts } from '../decide';

export interface Random {
  next(): number;
  pick<T>(items: readonly T[]): T;
}

function glue(g: Random, pieces: readonly string[], most: number): string {
  let out = '';
  const n = Math.floor(g.next() * (most + 1));
  for (let i = 0; i < n; i++) out += g.pick(pieces);
  return out;
}

const ARG_PIECES = ['push', '--force', '-f', '-c', ' ', 'rm', ' -rf', '*', 'a', 'b', 'status', ''];
const PROGRAMS = ['/usr/bin/git', '/bin/sh', '/usr/bin/gitx', '/workspace/bin/tsc', '/tmp/sh'];

export function randomExecs(g: Random, count: number): ExecFacts[] {
  return Array.from({ length: count }, () => ({
    program: g.pick(PROGRAMS),
    argv: Array.from({ length: Math.floor(g.next() * 4) }, () => glue(g, ARG_PIECES, 2)),
  }));
}

const HOST_PIECES = ['github', '.com', 'api.', 'x', '.', 'evil-', 'localhost', 'npmjs'];
const PATH_PIECES = ['/', 'repos', '/v1', '?', 'x=1', 'issues', '*', '/a'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'get'];

export function randomHttp(g: Random, count: number): HttpRequestFacts[] {
  return Array.from({ length: count }, () => ({
    host: glue(g, HOST_PIECES, 3).replace(/\.+$/, '') || 'x',
    port: g.pick([80, 443, 1024, 1025, 8443, 0, 65535]),
    method: g.pick(METHODS),
    path: glue(g, PATH_PIECES, 4),
  }));
}

const SERVERS = ['github', 'githubx', 'fs', 'git'];
const TOOL_PIECES = ['create_', 'issue', '_repo', 'a', '/b', 'read_file', 'get_file', ''];
const ARGUMENT_PIECES = ['{', '}', '"force":true', '/etc/passwd', '"path":', ',', '\\"'];

export function randomMcp(g: Random, count: number): McpCallFacts[] {
  return Array.from({ length: count }, () => ({
    server: g.pick(SERVERS),
    tool: glue(g, TOOL_PIECES, 3) || 'a',
    arguments: glue(g, ARGUMENT_PIECES, 4),
  }));
}
