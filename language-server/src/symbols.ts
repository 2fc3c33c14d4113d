/** Document symbols: one per policy, named by its `@id`. */
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { MAX_CHECKED_CHARS } from './documents';
import { effectOf, idOf, policies } from './policy-text';

/** Editors draw a key for what opens access and a bolt for what stops it. */
const KIND = { permit: SymbolKind.Key, forbid: SymbolKind.Event } as const;

export function symbols(doc: TextDocument): DocumentSymbol[] {
  // The editor does not analyse a file this large (its one diagnostic says so).
  if (doc.getText().length > MAX_CHECKED_CHARS) return [];
  return policies(doc.getText()).map((policy) => {
    const effect = effectOf(policy)?.text === 'forbid' ? 'forbid' : 'permit';
    return {
      name: idOf(policy) ?? `(${effect} without @id)`,
      detail: effect,
      kind: KIND[effect],
      range: { start: doc.positionAt(policy.range.start), end: doc.positionAt(policy.range.end) },
      selectionRange: {
        start: doc.positionAt(policy.head.start),
        end: doc.positionAt(policy.head.end),
      },
    };
  });
}
