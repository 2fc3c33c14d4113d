/** `leash exec`: runs a further command in a running session, as one of its principals. */
import type { Command } from 'commander';
import { LeashClient } from './client';
import { attach } from './run';

export function registerExecCommand(program: Command, socket: () => string): void {
  program
    .command('exec')
    .description(
      'run a command in a running session; with --principal, as that principal ' +
        '(policies name it Agent::"NAME"), in a cgroup of its own',
    )
    .argument('<session>', 'the session to run in')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--principal <name>', "the principal to run as (default: the session's agent)")
    .option('--json', 'print the session and principal as JSON on stderr first')
    .action(
      async (session: string, command: string[], o: { principal?: string; json?: boolean }) => {
        const argv = command[0] === '--' ? command.slice(1) : command;
        if (argv.length === 0) throw new Error('leash exec needs a command after --');
        if (o.json) {
          process.stderr.write(JSON.stringify({ session, principal: o.principal ?? '' }) + '\n');
        }
        const client = new LeashClient(socket());
        const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
        try {
          process.exitCode = await attach(
            client,
            { session, command: argv, principal: o.principal ?? '' },
            tty,
            true,
            {},
          );
        } finally {
          client.close();
        }
      },
    );
}
