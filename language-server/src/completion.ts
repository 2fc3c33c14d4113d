/**
 * Completion from the schema, by what the text before the cursor asks for: actions after
 * `action ==` / `action in [`, attributes after `resource.` / `context.`, entity types after
 * `Leash::`, workspace paths inside `Dir::"…"` / `File::"…"`, and values inside strings
 * (`completion-values.ts`).
 */
import { readdirSync, type Dirent } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  CompletionItemKind,
  type CompletionItem,
  type CompletionParams,
  type Range,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { AuditNames } from './audit-names';
import { valueContext, valueItems } from './completion-values';
import { ACTION_MEANINGS } from './hover';
import { NAMESPACE, type Attribute, type SchemaInfo } from './schema';

export const TRIGGER_CHARACTERS = ['.', ':', '"', '/', '['];

const KEYWORDS = [
  'permit',
  'forbid',
  'when',
  'unless',
  'principal',
  'action',
  'resource',
  'context',
  'in',
  'like',
  'has',
  'is',
  'if',
  'then',
  'else',
  'true',
  'false',
];

/** More entries than this in one directory are cut: completion must stay quick. */
const MAX_PATH_ITEMS = 500;

export class Completer {
  constructor(
    private readonly schema: SchemaInfo,
    private readonly workspaceRoot: () => string | null,
    private readonly seen: AuditNames,
  ) {}

  complete(doc: TextDocument, params: CompletionParams): CompletionItem[] {
    const text = doc.getText();
    const offset = doc.offsetAt(params.position);
    // The policy being written starts after the previous `;` (one inside a string or comment
    // only makes the context shorter, which is harmless here).
    const start = text.lastIndexOf(';', offset - 1) + 1;
    const before = text.slice(start, offset);
    const end = text.indexOf(';', offset);
    const policy = text.slice(start, end < 0 ? text.length : end);
    const replace = (length: number): Range => ({
      start: doc.positionAt(offset - length),
      end: params.position,
    });

    const path = /\b(?:Dir|File)::"((?:[^"\\\n]|\\.)*)$/.exec(before);
    if (path) return this.paths(path[1] ?? '', replace);

    // Names from the audit log: what has come in so far, and more for next time.
    this.seen.refreshSoon();
    const value = valueContext(before, this.namedActions(policy));
    if (value) return valueItems(value, this.seen, replace(value.typed.length));

    const actionId = /\bAction::"(\w*)$/.exec(before);
    if (actionId) return this.actions((name) => name, replace((actionId[1] ?? '').length));

    const attr = /\b(resource|context)\.(\w*)$/.exec(before);
    if (attr) {
      const range = replace((attr[2] ?? '').length);
      return attr[1] === 'resource'
        ? this.resourceAttributes(policy, range)
        : this.contextAttributes(policy, range);
    }

    const action = /\baction\s*(?:==|in)\s*(?:\[[^\]]*?)?([\w:]*)$/.exec(before);
    if (action) {
      const qualified = (name: string): string => `${NAMESPACE}::Action::"${name}"`;
      return this.actions(qualified, replace((action[1] ?? '').length));
    }

    const qualified = new RegExp(`\\b${NAMESPACE}::(\\w*)$`).exec(before);
    if (qualified) return this.entityTypes((name) => name, replace((qualified[1] ?? '').length));

    const word = /\w*$/.exec(before)?.[0] ?? '';
    return [
      ...KEYWORDS.map((k) => ({ label: k, kind: CompletionItemKind.Keyword })),
      ...this.entityTypes((name) => `${NAMESPACE}::${name}`, replace(word.length)),
    ];
  }

  private actions(insert: (name: string) => string, range: Range): CompletionItem[] {
    return [...this.schema.actions.keys()].map((name) => ({
      label: insert(name),
      kind: CompletionItemKind.EnumMember,
      detail: `${NAMESPACE}::Action`,
      documentation: ACTION_MEANINGS[name],
      textEdit: { range, newText: insert(name) },
    }));
  }

  private entityTypes(insert: (name: string) => string, range: Range): CompletionItem[] {
    const items: CompletionItem[] = [...this.schema.entityTypes.keys()].map((name) => ({
      label: insert(name),
      kind: CompletionItemKind.Class,
      detail: 'entity type',
      textEdit: { range, newText: insert(name) },
    }));
    items.push({
      label: insert('Action'),
      kind: CompletionItemKind.Enum,
      detail: 'actions',
      textEdit: { range, newText: insert('Action') },
    });
    return items;
  }

  /** The attributes of the resource types of the actions the policy names (all if none). */
  private resourceAttributes(policy: string, range: Range): CompletionItem[] {
    const named = this.namedActions(policy);
    const types = new Set(named.flatMap((a) => this.schema.actions.get(a)?.resourceTypes ?? []));
    if (types.size === 0) {
      for (const a of this.schema.actions.values()) a.resourceTypes.forEach((t) => types.add(t));
    }
    const seen = new Map<string, { attr: Attribute; types: string[] }>();
    for (const type of types) {
      for (const attr of this.schema.entityTypes.get(type) ?? []) {
        const entry = seen.get(attr.name) ?? { attr, types: [] };
        entry.types.push(type);
        seen.set(attr.name, entry);
      }
    }
    return [...seen.values()].map(({ attr, types: on }) => attributeItem(attr, on, range));
  }

  private contextAttributes(policy: string, range: Range): CompletionItem[] {
    const named = this.namedActions(policy);
    const actions = named.length > 0 ? named : [...this.schema.actions.keys()];
    const seen = new Map<string, CompletionItem>();
    for (const name of actions) {
      for (const attr of this.schema.actions.get(name)?.context ?? []) {
        seen.set(attr.name, attributeItem(attr, [`${name} context`], range));
      }
    }
    return [...seen.values()];
  }

  private namedActions(policy: string): string[] {
    const names = [...policy.matchAll(/\bAction::"(\w+)"/g)].map((m) => m[1] ?? '');
    return names.filter((n) => this.schema.actions.has(n));
  }

  /** `@workspace`, `@home`, and entries of workspace directories below what is typed. */
  private paths(typed: string, replace: (length: number) => Range): CompletionItem[] {
    const cut = typed.lastIndexOf('/');
    const range = replace(typed.length - cut - 1);
    if (cut < 0) {
      return ['@workspace', '@home'].map((root) => ({
        label: root,
        kind: CompletionItemKind.Folder,
        detail: root === '@workspace' ? 'the session workspace' : 'the sandbox home directory',
        textEdit: { range, newText: root },
      }));
    }

    const root = this.workspaceRoot();
    if (root === null) return [];
    const dir = typed.slice(0, cut);
    let below: string;
    if (dir === '@workspace' || dir.startsWith('@workspace/')) {
      below = dir.slice('@workspace'.length);
    } else if (dir === root || dir.startsWith(root + '/')) {
      below = dir.slice(root.length);
    } else {
      return [];
    }
    const target = resolve(root, '.' + below);
    const inside = relative(root, target);
    if (inside === '..' || inside.startsWith('..' + sep) || isAbsolute(inside)) return [];
    return listDir(target)
      .slice(0, MAX_PATH_ITEMS)
      .map((entry) => ({
        label: entry.name,
        kind: entry.isDirectory() ? CompletionItemKind.Folder : CompletionItemKind.File,
        detail: join(dir, entry.name),
        textEdit: { range, newText: entry.name },
      }));
  }
}

function attributeItem(attr: Attribute, on: string[], range: Range): CompletionItem {
  const optional = attr.required ? '' : ' (optional: test with `has` first)';
  return {
    label: attr.name,
    kind: CompletionItemKind.Field,
    detail: `${attr.type} — ${on.join(', ')}${optional}`,
    textEdit: { range, newText: attr.name },
  };
}

/** The entries of a directory; none when it does not exist (the user is still typing it). */
function listDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}
