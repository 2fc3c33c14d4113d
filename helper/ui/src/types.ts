/** The shapes the Control UI's API sends (helper/src/ui/api.ts and stream.ts). */

export interface AuditEvent {
  id: number;
  time: string;
  session: string;
  principal: string;
  kind: string;
  action: string;
  machine: string;
  resource: string;
  decision: string;
  policies: string[];
  count: number;
  pid: number;
  comm: string;
  details: Record<string, unknown>;
}

export interface SessionView {
  name: string;
  agent: string;
  principals: string[];
  workspace: string;
  mode: string;
  state: string;
  started: string;
  policyOrigin: string;
  policyHash: string;
  denials: number;
}

export interface PolicyView {
  text: string;
  origin: string;
  hash: string;
  /** Each policy's text by its @id. */
  policies: Record<string, string>;
}

export interface ApplyReply {
  applied: boolean;
  oldHash: string;
  newHash?: string;
  diagnostics: string[];
}

export interface EventFilter {
  session: string;
  decision: string;
  kind: string;
  text: string;
}
