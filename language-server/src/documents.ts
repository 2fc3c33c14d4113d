/**
 * The open policy documents, the workspace they belong to, and what the policy core says about
 * each: its check (errors and lint, for diagnostics and policies from events) and, only when
 * hover asks, a policy's compiled form for this workspace. Both are cached by text.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import {
  compilePolicy,
  DEFAULT_POLICY_PATH,
  type CompileOptions,
  type CompileResult,
  type JudgeOptions,
} from '@leash/policies';
import { TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { PolicyChecker, type Checked } from './check';
import type { PolicySource } from './policy-text';
import type { SchemaStore } from './schema-store';

export type { Checked };

/**
 * Larger files are not checked in the editor. About 8,000 policies: the first check takes
 * several seconds, done a slice at a time so requests are still answered meanwhile (within
 * about half a second each here); `leash policy check` checks any size.
 */
export const MAX_CHECKED_CHARS = 1_000_000;

/** The one finding about a file too large to check here, or null. */
export function tooLarge(text: string, file: string): Checked | null {
  if (text.length <= MAX_CHECKED_CHARS) return null;
  const size = `${(text.length / 1e6).toFixed(1)} million characters`;
  const message =
    `this file has ${size}; the editor checks, compiles and formats policy files of up to ` +
    `${MAX_CHECKED_CHARS / 1e6} million. Run \`leash policy check\` on it, or split it.`;
  const at = { line: 1, column: 1, endLine: 1, endColumn: 1 };
  const d = { file, ...at, severity: 'warning' as const, code: 'file-too-large', message };
  return { ok: false, diagnostics: [d], policies: [] };
}

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
  /** Keyed by the principals compiled for and the policy's text. */
  private readonly compiled = new Map<string, CompileResult>();
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

  /**
   * One policy compiled for this workspace's session. Its rules do not depend on the other
   * policies, so it is compiled alone: quick in any file, and shown even while another policy
   * is broken. Diagnostics are in the policy's own coordinates.
   */
  compileOne(doc: TextDocument, policy: PolicySource): CompileResult {
    const options = this.options(doc.getText());
    const key = `${JSON.stringify(options.principals)}\n${policy.text}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const result = compilePolicy(policy.text, doc.uri, options);
    if (this.compiled.size >= 256) this.compiled.clear();
    this.compiled.set(key, result);
    return result;
  }

  /** What `leash policy check` says: parse, schema and compiler errors, then lint warnings. */
  check(doc: TextDocument): Checked {
    const text = doc.getText();
    const known = this.lastCheck(doc);
    if (known) return known;
    const result = tooLarge(text, doc.uri) ?? this.checker(doc.uri).check(text, doc.uri);
    this.checked.set(doc.uri, { text, result });
    return result;
  }

  /** The same check, letting requests in while a large file is worked out; null if outdated. */
  async checkSoon(doc: TextDocument): Promise<Checked | null> {
    const text = doc.getText();
    const known = this.lastCheck(doc);
    if (known) return known;
    const version = doc.version;
    const stale = (): boolean => this.get(doc.uri)?.version !== version;
    const large = tooLarge(text, doc.uri);
    const result = large ?? (await this.checker(doc.uri).checkInSlices(text, doc.uri, stale));
    if (result) this.checked.set(doc.uri, { text, result });
    return result;
  }

  /**
   * Checks the default policy once, so that cedar-wasm's first calls (a second or two of
   * compiling on a loaded machine) happen at start rather than inside the first request.
   */
  warmUp(): void {
    new PolicyChecker(() => this.schema.validationSchema()).check(
      readFileSync(DEFAULT_POLICY_PATH, 'utf8'),
      DEFAULT_POLICY_PATH,
    );
  }

  /** The check of the document's current text, if it has been made. */
  lastCheck(doc: TextDocument): Checked | null {
    const cached = this.checked.get(doc.uri);
    return cached?.text === doc.getText() ? cached.result : null;
  }

  private checker(uri: string): PolicyChecker {
    let checker = this.checkers.get(uri);
    if (!checker) {
      checker = new PolicyChecker(() => this.schema.validationSchema());
      this.checkers.set(uri, checker);
    }
    return checker;
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
    this.checked.delete(uri);
    this.checkers.delete(uri);
  }
}
