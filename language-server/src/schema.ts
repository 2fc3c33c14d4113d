/**
 * The Leash schema as the editor needs it: entity types, actions, their attributes, and where
 * each is declared in `policies/leash.cedarschema` (for go to definition).
 */
import { readFileSync } from 'node:fs';
import { SCHEMA_PATH } from '@leash/policies';
import { schemaToJson } from './cedar';
import type { SchemaJson } from './check-validate';
import { LineMap } from './core';

export const NAMESPACE = 'Leash';

export interface Attribute {
  name: string;
  /** The attribute's type as a reader would write it: `String`, `Set<String>`, `ipaddr`. */
  type: string;
  required: boolean;
}

export interface Declaration {
  name: string;
  /** 0-based line and UTF-16 column of the name in the schema file. */
  line: number;
  character: number;
}

export interface ActionInfo {
  name: string;
  resourceTypes: string[];
  context: Attribute[];
}

export interface SchemaInfo {
  /** The schema file, for go to definition. */
  path: string;
  entityTypes: Map<string, Attribute[]>;
  actions: Map<string, ActionInfo>;
  declarations: Map<string, Declaration>;
  actionDeclarations: Map<string, Declaration>;
}

type JsonType = {
  type?: string;
  name?: string;
  element?: JsonType;
  required?: boolean;
  attributes?: Record<string, JsonType>;
};

function typeName(t: JsonType): string {
  if (t.type === 'Set' && t.element) return `Set<${typeName(t.element)}>`;
  if (t.type === 'Record') return 'Record';
  return t.name ?? t.type ?? '?';
}

function attributes(shape: JsonType | undefined): Attribute[] {
  return Object.entries(shape?.attributes ?? {}).map(([name, t]) => ({
    name,
    type: typeName(t),
    required: t.required !== false,
  }));
}

/** Where `entity A, B …` and `action A, B …` declare each name, found in the schema text. */
function declarations(text: string, keyword: 'entity' | 'action'): Map<string, Declaration> {
  const found = new Map<string, Declaration>();
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const head = new RegExp(`^\\s*${keyword}\\s+`).exec(line);
    if (!head) return;
    const list = line.slice(head[0].length).split(/\s+(?:in|appliesTo)\b|[{;]/)[0] ?? '';
    let from = head[0].length;
    for (const raw of list.split(',')) {
      const name = raw.trim().replace(/^"(.*)"$/, '$1');
      if (name === '') continue;
      const character = line.indexOf(name, from);
      found.set(name, { name, line: index, character });
      from = character + name.length;
    }
  });
  return found;
}

/** A schema text Cedar refuses, with where (character offsets) when Cedar says. */
export class SchemaError extends Error {
  constructor(
    message: string,
    readonly problems: Array<{ message: string; start: number; end: number }>,
  ) {
    super(message);
  }
}

/** Parses a schema text through cedar-wasm; throws a SchemaError with Cedar's findings. */
export function parseSchema(text: string, path: string): { info: SchemaInfo; json: SchemaJson } {
  const answer = schemaToJson(text);
  if (answer.type === 'failure') {
    const lines = new LineMap(text);
    const problems = answer.errors.map((e) => {
      const at = e.sourceLocations?.[0];
      const help = e.help ? ` (${e.help})` : '';
      const range = at
        ? { start: lines.charOffset(at.start), end: lines.charOffset(at.end) }
        : { start: 0, end: 0 };
      return { message: `${e.message}${help}`, ...range };
    });
    const why = problems.map((p) => p.message).join('; ');
    throw new SchemaError(`the Leash schema ${path} does not parse: ${why}`, problems);
  }
  const ns = answer.json[NAMESPACE];
  if (!ns) {
    const problem = { message: `the schema has no namespace ${NAMESPACE}`, start: 0, end: 0 };
    throw new SchemaError(`the Leash schema ${path} has no namespace ${NAMESPACE}`, [problem]);
  }

  const entityTypes = new Map<string, Attribute[]>();
  for (const [name, def] of Object.entries(ns.entityTypes)) {
    entityTypes.set(name, attributes((def as { shape?: JsonType }).shape));
  }
  const actions = new Map<string, ActionInfo>();
  for (const [name, def] of Object.entries(ns.actions)) {
    const appliesTo = (def as { appliesTo?: { resourceTypes?: string[]; context?: JsonType } })
      .appliesTo;
    actions.set(name, {
      name,
      resourceTypes: appliesTo?.resourceTypes ?? [],
      context: attributes(appliesTo?.context),
    });
  }
  const info = {
    path,
    entityTypes,
    actions,
    declarations: declarations(text, 'entity'),
    actionDeclarations: declarations(text, 'action'),
  };
  return { info, json: answer.json };
}

/** Reads and parses a schema file; throws if it cannot be read or does not parse. */
export function loadSchema(path: string = SCHEMA_PATH): { info: SchemaInfo; json: SchemaJson } {
  return parseSchema(readFileSync(path, 'utf8'), path);
}

/** What the server knows when the schema cannot be read: nothing, so nothing is offered. */
export function emptySchema(path: string): SchemaInfo {
  return {
    path,
    entityTypes: new Map(),
    actions: new Map(),
    declarations: new Map(),
    actionDeclarations: new Map(),
  };
}
