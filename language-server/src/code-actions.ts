/**
 * Quick fixes for the diagnostics whose fix is obvious: a missing or duplicate `@id`, a path
 * that is not normalised, an IPv4-mapped address, a misspelt annotation, action or entity type.
 * Each fix rewrites one token; strings are written with the policy core's escaping.
 */
import { posix } from 'node:path';
import {
  cedarString,
  formatCidr,
  isNormalPath,
  KNOWN_ANNOTATIONS,
  parseCidr,
  tokenize,
  type Token,
} from '@leash/policies';
import {
  CodeActionKind,
  type CodeAction,
  type CodeActionParams,
  type Diagnostic,
  type TextEdit,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { idOf, policies, qualifiedBy } from './policy-text';
import type { SchemaInfo } from './schema';

/** A fix: the new text for one token of the diagnostic's range, and how to say it. */
type Fix = { token: Token; newText: string; title: string } | { insert: string; title: string };

const ROOT_FORMS = ['@workspace', '@home'];
/** Misspellings further than this from every name are not guessed at. */
const MAX_DISTANCE = 2;

export class CodeActions {
  constructor(private readonly schema: SchemaInfo) {}

  actions(doc: TextDocument, params: CodeActionParams): CodeAction[] {
    const text = doc.getText();
    const out: CodeAction[] = [];
    for (const diagnostic of params.context.diagnostics) {
      if (diagnostic.source !== 'leash') continue;
      const start = doc.offsetAt(diagnostic.range.start);
      const end = doc.offsetAt(diagnostic.range.end);
      const tokens = tokenize(text).filter((t) => t.start >= start && t.end <= end);
      const fix = this.fix(String(diagnostic.code), text, tokens, diagnostic);
      if (!fix) continue;
      const edit: TextEdit =
        'token' in fix
          ? {
              range: { start: doc.positionAt(fix.token.start), end: doc.positionAt(fix.token.end) },
              newText: fix.newText,
            }
          : {
              range: { start: diagnostic.range.start, end: diagnostic.range.start },
              newText: fix.insert,
            };
      out.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: true,
        edit: { changes: { [doc.uri]: [edit] } },
      });
    }
    return out;
  }

  private fix(code: string, text: string, tokens: Token[], d: Diagnostic): Fix | null {
    const strings = tokens.filter((t) => t.kind === 'string');
    switch (code) {
      case 'missing-id': {
        const id = freshId(text, 'policy');
        return { insert: `@id(${cedarString(id)})\n`, title: `Add @id("${id}")` };
      }
      case 'duplicate-id': {
        const token = strings[0];
        if (!token) return null;
        const id = freshId(text, token.value);
        return { token, newText: cedarString(id), title: `Rename to "${id}"` };
      }
      case 'path-not-normal':
        return firstFix(strings, (token) => {
          const path = normalised(token.value);
          return path === null
            ? null
            : { token, newText: cedarString(path), title: `Write "${path}"` };
        });
      case 'ipv4-mapped':
        return firstFix(strings, (token) => {
          const v4 = ipv4Form(token.value);
          return v4 === null
            ? null
            : { token, newText: cedarString(v4), title: `Write the IPv4 form "${v4}"` };
        });
      case 'L005': {
        const at = tokens.findIndex((t) => t.text === '@');
        const name = tokens[at + 1];
        const known = name && closest(name.text, KNOWN_ANNOTATIONS);
        return known ? { token: name, newText: known, title: `Change to @${known}` } : null;
      }
      case 'validation':
        return this.misspelt(tokens, d);
      default:
        return null;
    }
  }

  /** `Leash::Action::"ReadFle"` → `"ReadFile"`; `Leash::Fiel` → `File`. */
  private misspelt(tokens: Token[], d: Diagnostic): Fix | null {
    if (/unrecognized action/.test(d.message)) {
      const names = [...this.schema.actions.keys()];
      return firstFix(tokens, (token, i) => {
        if (token.kind !== 'string' || !qualifiedBy(tokens.slice(0, i), 'Action')) return null;
        const name = closest(token.value, names);
        return name === null
          ? null
          : { token, newText: cedarString(name), title: `Change to "${name}"` };
      });
    }
    if (/unrecognized entity type/.test(d.message)) {
      const types = [...this.schema.entityTypes.keys()];
      const last = tokens.filter((t) => t.kind === 'ident').pop();
      const name = last && closest(last.text, types);
      return name && last ? { token: last, newText: name, title: `Change to ${name}` } : null;
    }
    return null;
  }
}

function firstFix(tokens: Token[], f: (t: Token, i: number) => Fix | null | undefined): Fix | null {
  for (const [i, t] of tokens.entries()) {
    const fix = f(t, i);
    if (fix) return fix;
  }
  return null;
}

/** `base-2`, `base-3`… (or `base-1` for a base that is not an id yet) not used in the text. */
function freshId(text: string, base: string): string {
  const taken = new Set(policies(text).flatMap((p) => idOf(p) ?? []));
  for (let n = base === 'policy' ? 1 : 2; ; n++) {
    if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
  }
}

/** The normalised form of an absolute or root-relative path; null when there is none. */
export function normalised(path: string): string | null {
  const root = ROOT_FORMS.find((r) => path === r || path.startsWith(r + '/'));
  const rest = root ? path.slice(root.length) : path;
  if (!rest.startsWith('/')) return null;
  const clean = posix.normalize(rest).replace(/\/+$/, '') || '/';
  if (!isNormalPath(clean)) return null;
  const out = root ? (clean === '/' ? root : root + clean) : clean;
  return out === path ? null : out;
}

/** `::ffff:a00:0/104` → `10.0.0.0/8`, `::ffff:10.0.0.1` → `10.0.0.1`; null otherwise. */
export function ipv4Form(text: string): string | null {
  const cidr = parseCidr(text);
  if (!cidr || cidr.family !== 6 || cidr.prefix < 96 || cidr.bits >> 32n !== 0xffffn) return null;
  const v4 = formatCidr({ family: 4, prefix: cidr.prefix - 96, bits: cidr.bits & 0xffffffffn });
  return text.includes('/') ? v4 : v4.replace(/\/32$/, '');
}

/** The one name within MAX_DISTANCE edits of `word` (the nearest), or null. */
function closest(word: string, names: string[]): string | null {
  let best: string | null = null;
  let bestDistance = MAX_DISTANCE + 1;
  for (const name of names) {
    const d = distance(word.toLowerCase(), name.toLowerCase());
    if (d < bestDistance && name !== word) [best, bestDistance] = [name, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost);
    }
    row = next;
  }
  return row[b.length] ?? 0;
}
