/** Where the schema and the default policy live, and the schema text itself. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `policies/leash.cedarschema`, resolved from this module (src/ and dist/ sit beside it). */
export const SCHEMA_PATH = join(__dirname, '..', 'leash.cedarschema');
export const DEFAULT_POLICY_PATH = join(__dirname, '..', 'default.cedar');

let schemaText: string | undefined;

export function schema(): string {
  schemaText ??= readFileSync(SCHEMA_PATH, 'utf8');
  return schemaText;
}
