/** What leashd's gRPC API (helper/proto/leash.proto) sends and takes, as proto-loader gives it. */

export interface SessionInfo {
  name: string;
  agent: string;
  workspace: string;
  mode: string;
  state: string;
  policyHash: string;
  policyOrigin: string;
  containerId: string;
  started: string;
  principals: string[];
  /** int64, as a decimal string. */
  denials: string;
}

export interface AuditEvent {
  id: string;
  time: string;
  session: string;
  principal: string;
  kind: string;
  action: string;
  machine: string;
  resource: string;
  decision: string;
  policies: string[];
  count: string;
  pid: number;
  comm: string;
  /** Kind-specific fields as a JSON object. */
  details: string;
}

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
