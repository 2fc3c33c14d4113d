/** Where leashd keeps its socket, state and settings, and how clients find it. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_SOCKET = '/run/leash/leashd.sock';
export const DEFAULT_STATE_DIR = '/var/lib/leash';
export const SETTINGS_FILE = '/etc/leash/leashd.json';
export const VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
export const PROTO_PATH = path.join(__dirname, '..', 'proto', 'leash.proto');

export interface DaemonSettings {
  socket: string;
  stateDir: string;
  image: string;
  /** Group that may use the socket (mode 0660). */
  group: string;
  /** The Docker engine's socket. */
  dockerSocket: string;
  /** Audit events older than this many days are pruned (0: never). */
  retentionDays: number;
  /** At most this many audit events are kept (0: no bound). */
  maxEvents: number;
  /** Loopback port of the Control UI (0: off). */
  uiPort: number;
  /** OTLP/HTTP logs endpoint that receives every audit event ('': no export). */
  otlpEndpoint: string;
}

/** The socket a client talks to: `--socket`, else LEASH_SOCKET, else the default. */
export function clientSocket(flag?: string): string {
  return flag ?? process.env.LEASH_SOCKET ?? DEFAULT_SOCKET;
}

/** Settings from /etc/leash/leashd.json, overridden by flags. A malformed file is an error. */
export function loadSettings(flags: Partial<DaemonSettings>, file = SETTINGS_FILE): DaemonSettings {
  let fromFile: Partial<DaemonSettings> = {};
  if (fs.existsSync(file)) {
    try {
      fromFile = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DaemonSettings>;
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message}); fix or remove it`);
    }
  }
  return {
    socket: flags.socket ?? fromFile.socket ?? DEFAULT_SOCKET,
    stateDir: flags.stateDir ?? fromFile.stateDir ?? DEFAULT_STATE_DIR,
    image: flags.image ?? fromFile.image ?? 'leash/base:latest',
    group: flags.group ?? fromFile.group ?? 'leash',
    dockerSocket: flags.dockerSocket ?? fromFile.dockerSocket ?? '/var/run/docker.sock',
    retentionDays: Number(flags.retentionDays ?? fromFile.retentionDays ?? 30),
    maxEvents: Number(flags.maxEvents ?? fromFile.maxEvents ?? 10_000_000),
    uiPort: Number(flags.uiPort ?? fromFile.uiPort ?? 18080),
    otlpEndpoint: String(flags.otlpEndpoint ?? fromFile.otlpEndpoint ?? ''),
  };
}
