/**
 * `leash secret set|list|rm`: secrets for `@inject_header("… ${secret:NAME} …")`. A value is
 * read from stdin or from an environment variable of the caller, never from the command line
 * (which other users can see), and is never printed.
 */
import type { Command } from 'commander';
import type { LeashClient } from './client';

interface SecretsReply {
  names: string[];
  removed: boolean;
}

type WithClient = <T>(fn: (c: LeashClient) => Promise<T>) => Promise<T>;

export function registerSecretCommand(program: Command, withClient: WithClient): void {
  const secret = program
    .command('secret')
    .description('secrets the proxy injects into requests (values are never shown)');
  secret
    .command('set')
    .description('set NAME from stdin (one value; a final newline is dropped) or --from-env VAR')
    .argument('<name>')
    .option('--from-env <var>', 'take the value from this environment variable')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { fromEnv?: string; json?: boolean }) => {
      const value = o.fromEnv === undefined ? await readStdin() : fromEnv(o.fromEnv);
      const r = await withClient((c) => c.call<SecretsReply>('setSecret', { name, value }));
      console.log(o.json ? JSON.stringify({ set: name, names: r.names ?? [] }) : `set ${name}`);
    });
  secret
    .command('list')
    .description('the names of the secrets leashd holds')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await withClient((c) => c.call<SecretsReply>('listSecrets', {}));
      const names = r.names ?? [];
      if (o.json) console.log(JSON.stringify({ names }));
      else for (const n of names) console.log(n);
    });
  secret
    .command('rm')
    .description('remove a secret')
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }) => {
      const r = await withClient((c) => c.call<SecretsReply>('removeSecret', { name }));
      if (!r.removed) throw new Error(`no secret named ${name}; \`leash secret list\` shows them`);
      console.log(o.json ? JSON.stringify({ removed: name }) : `removed ${name}`);
    });
}

function fromEnv(variable: string): string {
  const value = process.env[variable];
  if (value === undefined || value === '') {
    throw new Error(`--from-env ${variable}: that variable is not set or empty`);
  }
  return value;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('value (then Enter, Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (value === '') throw new Error('no value on stdin; pipe it in or use --from-env VAR');
  return value;
}
