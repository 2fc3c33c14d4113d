/**
 * Secrets held by leashd for header injection: one JSON file, mode 0600, in the state
 * directory. Values never leave leashd except on the wire to the hosts a policy names; they
 * are never logged and never listed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** What the sandbox sees in place of a secret; the proxy flags it on the way to other hosts. */
export const PLACEHOLDER_PREFIX = 'leash-placeholder-';

export function checkSecretName(name: string): void {
  if (!NAME.test(name)) {
    throw new Error(
      `secret name ${JSON.stringify(name)} is not valid: use letters, digits and _ ` +
        '(not starting with a digit, at most 64)',
    );
  }
}

export class SecretStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'secrets.json');
  }

  set(name: string, value: string): void {
    checkSecretName(name);
    if (value.length === 0) throw new Error(`secret ${name}: the value is empty`);
    if (/[\r\n\0]/.test(value)) {
      throw new Error(`secret ${name}: the value holds a line break or NUL, which no header may`);
    }
    const all = this.read();
    all[name] = value;
    this.write(all);
  }

  /** Whether it existed. */
  remove(name: string): boolean {
    checkSecretName(name);
    const all = this.read();
    if (!(name in all)) return false;
    delete all[name];
    this.write(all);
    return true;
  }

  names(): string[] {
    return Object.keys(this.read()).sort();
  }

  get(name: string): string | undefined {
    return this.read()[name];
  }

  private read(): Record<string, string> {
    if (!fs.existsSync(this.file)) return {};
    const mode = fs.statSync(this.file).mode & 0o777;
    if (mode !== 0o600) {
      throw new Error(`${this.file} has mode ${mode.toString(8)}; it must be 0600 (chmod 600 it)`);
    }
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch (err) {
      throw new Error(`${this.file} is not valid JSON (${(err as Error).message})`);
    }
  }

  /** Written aside with 0600 and renamed into place, so a reader never sees half a file. */
  private write(all: Record<string, string>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, this.file);
  }
}

/** Replaces each `${secret:NAME}` in `template`; a secret that is not set is an error. */
export function expandSecrets(template: string, store: SecretStore): string {
  return template.replace(/\$\{secret:([^}]*)\}/g, (_, name: string) => {
    const value = store.get(name);
    if (value === undefined) {
      throw new Error(
        `secret ${name} is not set; set it on the host with \`leash secret set ${name}\``,
      );
    }
    return value;
  });
}
