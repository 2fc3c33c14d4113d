/** What leashd's gRPC API (helper/proto/leash.proto) sends and takes, as proto-loader gives it. */

// The messages leashd's own code declares are taken from there, so the two cannot drift.
export type {
  SessionInfoMsg as SessionInfo,
  EventMsg as AuditEvent,
} from '@leash/helper/dist/grpc';

export interface StatusReply {
  healthy: boolean;
  version: string;
  backend: string;
  backendReason: string;
  sessions: number;
  pid: number;
  socket: string;
  problems: string[];
}

export interface ApplyPolicyReply {
  applied: boolean;
  oldHash: string;
  newHash: string;
  diagnostics: string[];
}

export interface ControlUiReply {
  port: number;
  token: string;
  problem: string;
}

export interface AttachOutput {
  stdout?: Buffer;
  stderr?: Buffer;
  exitCode?: number;
  output?: string;
}

export interface AttachInput {
  start?: { session: string; tty: boolean; cols: number; rows: number };
  stdin?: Buffer;
  resize?: { cols: number; rows: number };
  closeStdin?: boolean;
}

export const AGENTS = ['claude', 'codex', 'gemini', 'qwen', 'opencode', 'shell'] as const;
export type Agent = (typeof AGENTS)[number];

export const MODES = ['enforce', 'shadow', 'record'] as const;
export type Mode = (typeof MODES)[number];
