/**
 * The schema policies are checked against, and what is wrong with it. It is the workspace's
 * `policies/leash.cedarschema` when the workspace has one (a checkout of Leash, where the
 * schema itself is edited), else the schema Leash is installed with. A schema that is missing
 * or does not parse is reported on its own file, and policies are checked against the
 * installed schema until it is fixed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCHEMA_PATH } from '@leash/policies';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { SchemaJson } from './check-validate';
import { LineMap } from './core';
import { emptySchema, parseSchema, SchemaError, type SchemaInfo } from './schema';

export const SCHEMA_FILE = join('policies', 'leash.cedarschema');

type Parsed = { info: SchemaInfo; json: SchemaJson };
type Outcome = { schema: Parsed; problems: [] } | { schema: null; problems: Diagnostic[] };

export class SchemaStore {
  /** One object for the server's lifetime, refreshed in place when the schema changes. */
  readonly info: SchemaInfo = emptySchema(SCHEMA_PATH);
  /** The file in use, and what is wrong with it (empty when nothing is). */
  path = SCHEMA_PATH;
  problems: Diagnostic[] = [];
  private json: SchemaJson | null = null;
  private readonly installed: Parsed | null;

  constructor() {
    const outcome = outcomeOf(SCHEMA_PATH, readOrMissing(SCHEMA_PATH), null);
    this.installed = outcome.schema;
    this.use(SCHEMA_PATH, outcome.schema, outcome.problems);
  }

  get uri(): string {
    return pathToFileURL(this.path).href;
  }

  /** The schema's JSON form for Cedar's validator; throws when no schema could be read. */
  validationSchema(): SchemaJson {
    if (this.json === null) {
      const why = this.problems[0]?.message ?? 'it is unusable';
      throw new Error(`no schema to validate against (${this.path}): ${why}`);
    }
    return this.json;
  }

  /** The file a workspace's own schema would be at, or null for a loose file. */
  static workspaceFile(workspaceRoot: string | null): string | null {
    return workspaceRoot === null ? null : join(workspaceRoot, SCHEMA_FILE);
  }

  /** Uses the workspace's own schema when it has one. */
  useWorkspace(workspaceRoot: string | null): void {
    const own = SchemaStore.workspaceFile(workspaceRoot);
    if (own !== null && existsSync(own)) this.reload(own, null);
  }

  /**
   * Reads `path` again, from `text` (the editor's copy) or else from disk. A missing or broken
   * workspace schema is reported on it, and the installed schema stands in for it.
   */
  reload(path: string, text: string | null): void {
    const outcome = outcomeOf(path, text ?? readOrMissing(path), this.installed);
    if (outcome.schema) this.use(path, outcome.schema, []);
    else this.use(path, this.installed, outcome.problems);
  }

  private use(path: string, schema: Parsed | null, problems: Diagnostic[]): void {
    this.path = path;
    this.problems = problems;
    this.json = schema?.json ?? null;
    Object.assign(this.info, schema?.info ?? emptySchema(path), { path });
  }
}

/** The file's text, or why there is none. */
function readOrMissing(path: string): string | { missing: string } {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { missing: e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.message})` };
  }
}

/** The parsed schema, or diagnostics on its file saying what is wrong and what stands in. */
function outcomeOf(
  path: string,
  text: string | { missing: string },
  standIn: Parsed | null,
): Outcome {
  const then =
    standIn && path !== SCHEMA_PATH
      ? `; policies are checked against the schema Leash is installed with (${SCHEMA_PATH}) ` +
        'until it is fixed.'
      : '; policies cannot be validated, and completion, hover and definition are off.';
  if (typeof text !== 'string') {
    return {
      schema: null,
      problems: [at(0, 0, 0, 'schema-missing', `the schema file ${text.missing}${then}`)],
    };
  }
  try {
    return { schema: parseSchema(text, path), problems: [] };
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    const lines = new LineMap(text);
    const problems = err.problems.map((p) => {
      const from = lines.position(p.start);
      const to = lines.position(Math.max(p.start, p.end));
      const d = at(
        from.line - 1,
        from.column - 1,
        to.column - 1,
        'schema-parse',
        `${p.message}${then}`,
      );
      d.range.end.line = to.line - 1;
      return d;
    });
    return { schema: null, problems };
  }
}

function at(
  line: number,
  character: number,
  endCharacter: number,
  code: string,
  message: string,
): Diagnostic {
  return {
    range: { start: { line, character }, end: { line, character: endCharacter } },
    severity: DiagnosticSeverity.Error,
    code,
    source: 'leash',
    message,
  };
}
