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

/** No dots: Codex reads a server's name as one key of a dotted path. */
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Checks a declaration; `where` names its source in errors. */
export function parseGovernedServers(value: unknown, where: string): Map<string, GovernedServer> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where}: mcpServers must be an object of server name to declaration`);
  }
  const servers = new Map<string, GovernedServer>();
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const at = `${where}: MCP server ${JSON.stringify(name)}`;
    if (!NAME_RE.test(name)) {
      throw new Error(
        `${at}: a name is lower-case letters, digits, _ and - (no / or .), at most 63`,
      );
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
  const value = readJson(file);
  if (flagFile) return parseGovernedServers(value, file);
  const declared = (value as { mcpServers?: unknown } | null)?.mcpServers;
  return declared === undefined ? new Map() : parseGovernedServers(declared, file);
}

export type ServerSource = 'settings' | 'leash mcp add';

/**
 * The servers sessions offer: those of the settings (fixed while leashd runs) and those added
 * with `leash mcp add`, kept 0600 in leashd's state directory. A session takes the list as it
 * is when the session starts.
 */
export class GovernedRegistry {
  private readonly added: Map<string, GovernedServer>;

  constructor(
    private readonly fromSettings: Map<string, GovernedServer>,
    private readonly stateFile?: string,
  ) {
    this.added =
      stateFile && fs.existsSync(stateFile)
        ? parseGovernedServers(readJson(stateFile), stateFile)
        : new Map();
  }

  all(): Map<string, GovernedServer> {
    return new Map([...this.fromSettings, ...this.added]);
  }

  list(): (GovernedServer & { source: ServerSource })[] {
    return [
      ...[...this.fromSettings.values()].map((s) => ({ ...s, source: 'settings' as const })),
      ...[...this.added.values()].map((s) => ({ ...s, source: 'leash mcp add' as const })),
    ];
  }

  add(server: { name: string; command: string[]; env: Record<string, string>; cwd: string }): void {
    if (this.fromSettings.has(server.name) || this.added.has(server.name)) {
      throw new Error(`an MCP server named ${server.name} is already declared; remove it first`);
    }
    const declaration: Record<string, unknown> = { command: server.command, env: server.env };
    if (server.cwd) declaration.cwd = server.cwd;
    const parsed = parseGovernedServers({ [server.name]: declaration }, 'leash mcp add');
    this.added.set(server.name, parsed.get(server.name) as GovernedServer);
    this.save();
  }

  remove(name: string): boolean {
    if (this.fromSettings.has(name)) {
      throw new Error(`MCP server ${name} is declared in leashd's settings; remove it there`);
    }
    const removed = this.added.delete(name);
    if (removed) this.save();
    return removed;
  }

  private save(): void {
    if (!this.stateFile) throw new Error('this leashd has no state directory to keep servers in');
    const out: Record<string, unknown> = {};
    for (const s of this.added.values()) {
      out[s.name] = s.cwd
        ? { command: s.command, env: s.env, cwd: s.cwd }
        : { command: s.command, env: s.env };
    }
    const tmp = `${this.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.stateFile);
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); fix or remove it`);
  }
}

let registry = new GovernedRegistry(new Map());

/** Set once by leashd at start: the settings' servers, and where added ones are kept. */
export function setGovernedServers(
  fromSettings: Map<string, GovernedServer>,
  stateFile: string,
): void {
  registry = new GovernedRegistry(fromSettings, stateFile);
}

export function governedRegistry(): GovernedRegistry {
  return registry;
}

/** The servers a session starting now offers. */
export function governedServers(): Map<string, GovernedServer> {
  return registry.all();
}
