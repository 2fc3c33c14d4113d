/**
 * The open policy documents, the workspace they belong to, and what the policy core says about
 * each: its check (errors and lint, for diagnostics and policies from events) and, only when
 * hover asks, its compiled form for this workspace. Both are cached per document text.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compilePolicy,
  type CompileOptions,
  type CompileResult,
  type JudgeOptions,
} from '@leash/policies';
import { TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { PolicyChecker } from './check';
import type { Analysis, CheckResult } from './core';
import type { SchemaStore } from './schema-store';

/** What a check says, with the compiled policies when the file compiled. */
export type Checked = CheckResult & { policies: Analysis['policies'] };

/** `@home` has no host-side counterpart; any absolute path lets the compiler resolve it. */
const PLACEHOLDER_HOME = '/home/agent';
/** Without a workspace folder, `@workspace` stands for this placeholder. */
const PLACEHOLDER_WORKSPACE = '/workspace';
const EDITOR_SESSION = 'editor';

export class PolicyDocuments {
  readonly documents = new TextDocuments(TextDocument);
  /** The workspace folder on disk, or null when the editor opened a loose file. */
  workspaceRoot: string | null = null;
  /** Keyed by the text, not the version: an undo back to a checked text is not checked again. */
  private readonly compiled = new Map<string, { text: string; result: CompileResult }>();
  private readonly checked = new Map<string, { text: string; result: Checked }>();
  private readonly checkers = new Map<string, PolicyChecker>();

  constructor(private readonly schema: SchemaStore) {}

  setWorkspace(uri: string | null | undefined): void {
    this.workspaceRoot = uri?.startsWith('file:') ? resolve(fileURLToPath(uri)) : null;
    this.compiled.clear();
  }

  /** What `@workspace` stands for when compiling. */
  get workspace(): string {
    return this.workspaceRoot ?? PLACEHOLDER_WORKSPACE;
  }

  get(uri: string): TextDocument | undefined {
    return this.documents.get(uri);
  }

  /** Whether a document is a Cedar policy (and not, say, an examples file the editor sent). */
  isPolicy(doc: TextDocument): boolean {
    if (doc.uri.endsWith('.cedarschema')) return false;
    return doc.languageId === 'cedar' || doc.uri.endsWith('.cedar');
  }

  /** The session a document is compiled for: this workspace, its agents, a placeholder home. */
  options(text: string): CompileOptions {
    const principals = new Set<string>();
    for (const m of text.matchAll(/\bAgent::"((?:[^"\\\n]|\\.)*)"/g)) principals.add(m[1] ?? '');
    principals.delete('');
    return {
      session: EDITOR_SESSION,
      principals: principals.size > 0 ? [...principals] : ['shell'],
      workspace: this.workspace,
      home: PLACEHOLDER_HOME,
    };
  }

  /** The same session, for judging single requests. */
  judgeOptions(): JudgeOptions {
    return { session: EDITOR_SESSION, workspace: this.workspace, home: PLACEHOLDER_HOME };
  }

  compile(doc: TextDocument): CompileResult {
    const text = doc.getText();
    const cached = this.compiled.get(doc.uri);
    if (cached?.text === text) return cached.result;
    const result = compilePolicy(text, doc.uri, this.options(text));
    this.compiled.set(doc.uri, { text, result });
    return result;
  }

  /** What `leash policy check` says: parse, schema and compiler errors, then lint warnings. */
  check(doc: TextDocument): Checked {
    const text = doc.getText();
    const cached = this.checked.get(doc.uri);
    if (cached?.text === text) return cached.result;
    let checker = this.checkers.get(doc.uri);
    if (!checker) {
      checker = new PolicyChecker(() => this.schema.validationSchema());
      this.checkers.set(doc.uri, checker);
    }
    const result = checker.check(text, doc.uri);
    this.checked.set(doc.uri, { text, result });
    return result;
  }

  /** After a schema change every policy must be checked again. */
  schemaChanged(): void {
    this.checked.clear();
    this.checkers.forEach((c) => c.reset());
  }

  /** The open policy documents. */
  policies(): TextDocument[] {
    return this.documents.all().filter((d) => this.isPolicy(d));
  }

  forget(uri: string): void {
    this.compiled.delete(uri);
    this.checked.delete(uri);
    this.checkers.delete(uri);
  }
}
