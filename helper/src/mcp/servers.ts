/**
 * Governed stdio MCP servers: declared on the host, by the administrator, never by anything
 * the sandbox can write. leashd reads them once at start from `mcpServers` in
 * /etc/leash/leashd.json, or from the file its `--mcp-servers` flag names (same shape):
 *
 *   { "notes": { "command": ["node", "/opt/mcp/notes.js"], "env": { "X": "1" }, "cwd": "/opt/mcp" } }
 *
 * The command runs inside each session's sandbox, so its program must exist in the image.
 */
import * as fs from 'node:fs';

export interface GovernedServer {
  /** The name policies know it by (`McpServer::"<name>"`) and the principal `mcp:<name>`. */
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Working directory in the sandbox; the workspace when absent. */
  cwd?: string;
}

const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** Checks a declaration; `where` names its source in errors. */
export function parseGovernedServers(value: unknown, where: string): Map<string, GovernedServer> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where}: mcpServers must be an object of server name to declaration`);
  }
  const servers = new Map<string, GovernedServer>();
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const at = `${where}: MCP server ${JSON.stringify(name)}`;
    if (!NAME_RE.test(name)) {
      throw new Error(`${at}: a name is lower-case letters, digits, . _ - (no /), at most 63`);
    }
    const d = raw as { command?: unknown; env?: unknown; cwd?: unknown } | null;
    if (typeof d !== 'object' || d === null) throw new Error(`${at}: must be an object`);
    const command = d.command;
    if (
      !Array.isArray(command) ||
      command.length === 0 ||
      !command.every((c) => typeof c === 'string' && c !== '')
    ) {
      throw new Error(
        `${at}: command must be a non-empty array of strings, e.g. ["node", "/x.js"]`,
      );
    }
    const env = d.env ?? {};
    if (
      typeof env !== 'object' ||
      env === null ||
      Array.isArray(env) ||
      !Object.values(env).every((v) => typeof v === 'string')
    ) {
      throw new Error(`${at}: env must be an object of strings`);
    }
    if (d.cwd !== undefined && (typeof d.cwd !== 'string' || !d.cwd.startsWith('/'))) {
      throw new Error(`${at}: cwd must be an absolute path in the sandbox`);
    }
    const server: GovernedServer = {
      name,
      command: command as string[],
      env: env as Record<string, string>,
    };
    if (typeof d.cwd === 'string') server.cwd = d.cwd;
    servers.set(name, server);
  }
  return servers;
}

/** The servers from `--mcp-servers FILE` if given, else from the settings file's mcpServers. */
export function loadGovernedServers(
  flagFile: string | undefined,
  settingsFile: string,
): Map<string, GovernedServer> {
  const file = flagFile ?? settingsFile;
  if (!fs.existsSync(file)) {
    if (flagFile) throw new Error(`--mcp-servers ${flagFile}: no such file`);
    return new Map();
  }
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); fix it`);
  }
  if (flagFile) return parseGovernedServers(value, file);
  const declared = (value as { mcpServers?: unknown } | null)?.mcpServers;
  return declared === undefined ? new Map() : parseGovernedServers(declared, file);
}

let declared = new Map<string, GovernedServer>();

/** Set once by leashd at start; sessions started later offer these servers. */
export function setGovernedServers(servers: Map<string, GovernedServer>): void {
  declared = servers;
}

export function governedServers(): Map<string, GovernedServer> {
  return declared;
}
