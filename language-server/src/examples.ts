/**
 * Policy examples in the editor: when `NAME.cedar` has `NAME.examples.json` beside it, every
 * check of the policy also runs the examples, as `leash policy test` does, and each failing
 * example becomes an error on the policy file, with a link to the example.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  EXAMPLE_SESSION,
  parseExamples,
  runExamples,
  type Diagnostic as PolicyDiagnostic,
  type ExampleResult,
} from '@leash/policies';
import { DiagnosticSeverity, type Diagnostic, type Range } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { POLICY_GUIDE } from './links';
import type { PolicyDocuments } from './documents';
import { idOf, policies } from './policy-text';

const EXAMPLES_SECTION = `${POLICY_GUIDE}#policy-examples`;
const TOP: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** `file:///p/NAME.cedar` → `file:///p/NAME.examples.json`; null for other documents. */
export function examplesUriOf(policyUri: string): string | null {
  if (!policyUri.startsWith('file:') || !policyUri.endsWith('.cedar')) return null;
  return policyUri.slice(0, -'.cedar'.length) + '.examples.json';
}

/** The policy an examples file belongs to, for re-checking it when the examples change. */
export function policyUriOf(examplesUri: string): string | null {
  if (!examplesUri.endsWith('.examples.json')) return null;
  return examplesUri.slice(0, -'.examples.json'.length) + '.cedar';
}

export class ExampleRunner {
  private readonly cache = new Map<string, { key: string; diagnostics: Diagnostic[] }>();

  constructor(private readonly docs: PolicyDocuments) {}

  /** Problems with the examples of a policy that checks; none when it has no examples file. */
  diagnostics(doc: TextDocument): Diagnostic[] {
    const examplesUri = examplesUriOf(doc.uri);
    const examplesText = examplesUri === null ? null : this.read(examplesUri);
    if (examplesUri === null || examplesText === null) return [];

    const key = `${doc.getText()}\u0000${examplesText}`;
    const cached = this.cache.get(doc.uri);
    if (cached?.key === key) return cached.diagnostics;
    const diagnostics = this.run(doc, examplesUri, examplesText);
    this.cache.set(doc.uri, { key, diagnostics });
    return diagnostics;
  }

  forget(uri: string): void {
    this.cache.delete(uri);
  }

  /** The examples as the editor has them, else as saved; null when there is no such file. */
  private read(uri: string): string | null {
    const open = this.docs.get(uri);
    if (open) return open.getText();
    const path = fileURLToPath(uri);
    return existsSync(path) ? readFileSync(path, 'utf8') : null;
  }

  private run(doc: TextDocument, examplesUri: string, examplesText: string): Diagnostic[] {
    const name = examplesUri.slice(examplesUri.lastIndexOf('/') + 1);
    const parsed = parseExamples(examplesText, name);
    const out = parsed.diagnostics.map((d) => fileProblem(d, examplesUri));
    if (parsed.examples.length === 0) return out;

    const text = doc.getText();
    let results: ExampleResult[];
    try {
      results = runExamples(text, doc.uri, parsed.examples, EXAMPLE_SESSION).results;
    } catch (err) {
      // The examples' session has principals the editor's check does not know of.
      out.push({
        range: TOP,
        severity: DiagnosticSeverity.Error,
        code: 'examples-not-run',
        codeDescription: { href: EXAMPLES_SECTION },
        source: 'leash',
        message: `the examples in ${name} could not be run: ${String(err)}`,
      });
      return out;
    }

    const heads = new Map<string, Range>();
    for (const policy of policies(text)) {
      const id = idOf(policy);
      const head = {
        start: doc.positionAt(policy.head.start),
        end: doc.positionAt(policy.head.end),
      };
      if (id !== null && !heads.has(id)) heads.set(id, head);
    }
    for (const r of results.filter((x) => !x.pass)) {
      const expected = parsed.examples[r.index]?.policies ?? [];
      const at = [...r.cedar.policies, ...expected].map((id) => heads.get(id)).find(Boolean);
      out.push({
        range: at ?? TOP,
        severity: DiagnosticSeverity.Error,
        code: 'example-fails',
        codeDescription: { href: EXAMPLES_SECTION },
        source: 'leash',
        message:
          `example ${r.index + 1} in ${name} (${r.request}, expect ${r.expect}) fails: ` +
          `${r.problems.join('; ')}.`,
        relatedInformation: [
          {
            location: { uri: examplesUri, range: at1(r.line, r.column) },
            message: `example ${r.index + 1}`,
          },
        ],
      });
    }
    return out;
  }
}

function at1(line: number, column: number): Range {
  const p = { line: line - 1, character: column - 1 };
  return { start: p, end: p };
}

/** A problem in the examples file itself, shown on the policy with a link to where it is. */
function fileProblem(d: PolicyDiagnostic, examplesUri: string): Diagnostic {
  return {
    range: TOP,
    severity: DiagnosticSeverity.Error,
    code: d.code,
    codeDescription: { href: EXAMPLES_SECTION },
    source: 'leash',
    message: `${d.file}:${d.line}:${d.column}: ${d.message}`,
    relatedInformation: [
      { location: { uri: examplesUri, range: at1(d.line, d.column) }, message: d.message },
    ],
  };
}
