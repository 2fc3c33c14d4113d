/**
 * The extension's way to leashd: one client for the configured socket, started on demand when
 * the setting allows, and notifications that say what is wrong and offer the fix.
 */
import * as vscode from 'vscode';
import { runCli } from './cli';
import { HelperError, LeashClient, socketState } from './client';
import * as config from './config';
import { helperProblem, type Fix } from './helper-problem';
import { log } from './log';

export class Helper implements vscode.Disposable {
  private client?: LeashClient;
  private starting?: Promise<void>;

  /** The client for the configured socket (recreated when the setting changes). */
  current(): LeashClient {
    const socket = config.socketPath();
    if (this.client?.socket !== socket) {
      this.client?.close();
      this.client = new LeashClient(socket);
    }
    return this.client;
  }

  /** A client whose leashd answers; starts leashd first when allowed. Throws HelperError. */
  async ensure(): Promise<LeashClient> {
    const client = this.current();
    if (await client.ready(1500)) return client;
    if (config.startHelperOnDemand() && socketState(client.socket) !== 'no-access') {
      await this.start();
      if (await client.ready(5000)) return client;
    }
    throw new HelperError(helperProblem(client.socket, socketState(client.socket), 14, ''));
  }

  /** Runs `leash helper start` (leashd needs root: the CLI says so when it is not). */
  start(): Promise<void> {
    this.starting ??= runCli(['helper', 'start'], 60_000)
      .then(({ stdout, said }) => {
        log.info(`leash helper start: ${[stdout.trim(), said].filter(Boolean).join('; ')}`);
      })
      .finally(() => (this.starting = undefined));
    return this.starting;
  }

  dispose(): void {
    this.client?.close();
  }
}

/** Shows an error as a notification; a helper problem offers its fixes. Never throws. */
export async function report(err: unknown, helper: Helper): Promise<void> {
  const message = err instanceof Error ? err.message : String(err);
  log.error(message);
  if (!(err instanceof HelperError)) {
    void vscode.window.showErrorMessage(message, 'Show Log').then((pick) => {
      if (pick) log.show();
    });
    return;
  }
  const pick = await vscode.window.showErrorMessage(message, ...err.problem.fixes);
  await runFix(pick, helper);
}

async function runFix(fix: Fix | undefined, helper: Helper): Promise<void> {
  if (fix === 'Show Log') log.show();
  if (fix === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'leash.socketPath');
  }
  if (fix === 'Start Helper') {
    try {
      await helper.start();
      void vscode.window.showInformationMessage('Leash: leashd is running.');
    } catch (err) {
      await report(err, helper);
    }
  }
}
