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
  /** `file`, `net`, `exec`, `http` or `mcp` (docs/audit.md). */
  kind: string;
  /** `ReadFile`, `WriteFile`, `Connect`, `Exec`, `HttpRequest` or `McpCall`. */
  action: string;
  /** A path, `ip:port` (`[ip]:port` for IPv6), a host, or `server/tool`; the kind-specific
   *  fields below win when present. */
  resource?: string;
  /** The file's path, the program's path, or the HTTP request's path. */
  path?: string;
  /** `read`, `write` or `readwrite`. */
  access?: string;
  ip?: string;
  port?: number;
  /** Exec: argv[1..]. */
  argv?: string[];
  /** HTTP: the host judged and the method. */
  host?: string;
  method?: string;
  /** MCP: the server, the tool and the call's arguments as JSON text. */
  server?: string;
  tool?: string;
  arguments?: string;
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
