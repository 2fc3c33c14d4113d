/** Runs the `leash` CLI (leash.cliPath) for what only the CLI does: starting leashd, suggesting. */
import { execFile } from 'node:child_process';
import { childEnv } from './child-env';
import * as config from './config';

export interface CliOutput {
  stdout: string;
  /** What the CLI said on stderr, without its `leash: ` prefixes. */
  said: string;
}

export function runCli(args: string[], timeoutMs: number): Promise<CliOutput> {
  const cli = config.cliPath();
  const all = ['--socket', config.socketPath(), ...args];
  return new Promise((resolve, reject) =>
    execFile(
      cli,
      all,
      { env: childEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const said = stderr.trim().replace(/^leash: /gm, '');
        if (!err) return resolve({ stdout, said });
        const why = said || err.message;
        reject(
          new Error(
            `Leash: \`${cli} ${args.slice(0, 2).join(' ')}\` failed: ${why}` +
              ((err as NodeJS.ErrnoException).code === 'ENOENT'
                ? ' (set leash.cliPath to the leash CLI)'
                : ''),
          ),
        );
      },
    ),
  );
}
