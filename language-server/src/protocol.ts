/**
 * The messages the Leash language server adds to LSP, declared once: the VS Code extension
 * imports this file, so both sides agree on names and shapes.
 */
import {
  RequestType,
  type TextDocumentIdentifier,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol';

/** An audit event as `leash events --json` prints it (docs/audit.md); only these fields count. */
export interface AuditEvent {
  id?: number;
  principal: string;
  /** `file` or `net`; other kinds are not decided by policies this version enforces. */
  kind: string;
  /** `ReadFile`, `WriteFile` or `Connect`. */
  action: string;
  /** A path, or `ip:port` (`[ip]:port` for IPv6); `path`, `ip` and `port` win when present. */
  resource?: string;
  path?: string;
  /** `read`, `write` or `readwrite`. */
  access?: string;
  ip?: string;
  port?: number;
  decision?: string;
}

export interface PolicyFromEventParams {
  /** The policy file to add to. */
  textDocument: TextDocumentIdentifier;
  event: AuditEvent;
  /** What the event should get from now on: `allow` adds a permit, `deny` a forbid. */
  decision: 'allow' | 'deny';
}

export interface PolicyFromEventResult {
  /** Appends the new policies to the file; checked to compile and to give `decision`. */
  edit: WorkspaceEdit;
  /** The `@id`s of the new policies. */
  ids: string[];
  /** The appended text. */
  text: string;
}

/**
 * Writes a permit or forbid for exactly one logged event. Fails (with a message for the user)
 * when the policy file has errors, when the event already gets that decision, or when the new
 * policy would not give it (a permit cannot lift a forbid).
 */
export const PolicyFromEventRequest = new RequestType<
  PolicyFromEventParams,
  PolicyFromEventResult,
  void
>('leash/policyFromEvent');
