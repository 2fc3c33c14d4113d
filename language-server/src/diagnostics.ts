/**
 * Diagnostics: everything `leash policy check` reports (parse, schema, "cannot enforce exactly",
 * and lint warnings) plus failing policy examples, published a moment after the last edit so
 * typing does not check every keystroke.
 */
import type { Diagnostic as PolicyDiagnostic } from '@leash/policies';
import { DiagnosticSeverity, type Connection, type Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { PolicyDocuments } from './documents';
import type { ExampleRunner } from './examples';
import { POLICY_GUIDE } from './links';

export const DEBOUNCE_MS = 200;

export function toLsp(d: PolicyDiagnostic): Diagnostic {
  return {
    range: {
      start: { line: d.line - 1, character: d.column - 1 },
      end: { line: d.endLine - 1, character: d.endColumn - 1 },
    },
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    codeDescription: { href: `${POLICY_GUIDE}#${d.code}` },
    source: 'leash',
    message: d.message,
  };
}

export class DiagnosticsPublisher {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly connection: Connection,
    private readonly docs: PolicyDocuments,
    private readonly examples: ExampleRunner,
  ) {}

  /** Checks the document once it has been quiet for DEBOUNCE_MS. */
  schedule(doc: TextDocument): void {
    if (!this.docs.isPolicy(doc)) return;
    clearTimeout(this.timers.get(doc.uri));
    const timer = setTimeout(() => {
      this.timers.delete(doc.uri);
      void this.publish(doc.uri);
    }, DEBOUNCE_MS);
    this.timers.set(doc.uri, timer);
  }

  clear(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.docs.forget(uri);
    this.examples.forget(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  private async publish(uri: string): Promise<void> {
    const doc = this.docs.get(uri);
    if (!doc) return;
    let diagnostics: Diagnostic[];
    try {
      const check = await this.docs.checkSoon(doc);
      // The text changed while a large file was being checked: its own check is scheduled.
      if (check === null) return;
      diagnostics = check.diagnostics.map(toLsp);
      if (check.ok) diagnostics.push(...this.examples.diagnostics(doc));
    } catch (err) {
      // A crash in the policy core must not take the server down; say so on the document.
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      this.connection.console.error(`checking ${uri} failed: ${message}`);
      diagnostics = [
        {
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
          severity: DiagnosticSeverity.Error,
          code: 'internal',
          source: 'leash',
          message: `the policy checker failed on this file (${String(err)}); see the server log.`,
        },
      ];
    }
    void this.connection.sendDiagnostics({ uri, version: doc.version, diagnostics });
  }
}
