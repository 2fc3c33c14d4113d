/**
 * A session's command in an integrated terminal: a pseudoterminal over leashd's Attach stream.
 * Keys (Ctrl-C included) go to the sandbox's tty as they are; the size follows the panel; when
 * the command ends its exit code is shown and the next key closes the terminal.
 */
import type * as grpc from '@grpc/grpc-js';
import * as vscode from 'vscode';
import type { LeashClient } from './client';
import { log } from './log';
import type { AttachInput, AttachOutput } from './wire';

export class SessionTerminal implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;

  private call?: grpc.ClientDuplexStream<AttachInput, AttachOutput>;
  private readonly decoder = new TextDecoder('utf-8');
  private exitCode?: number;
  private ended = false;

  constructor(
    private readonly client: LeashClient,
    readonly session: string,
    private readonly onExit: (session: string, code: number | undefined) => void,
  ) {}

  open(dims: vscode.TerminalDimensions | undefined): void {
    const call = this.client.attach();
    this.call = call;
    call.on('data', (msg: AttachOutput) => {
      if (msg.stdout) this.write.fire(this.decoder.decode(msg.stdout, { stream: true }));
      else if (msg.stderr) this.write.fire(this.decoder.decode(msg.stderr, { stream: true }));
      else if (msg.output === 'exitCode') this.exitCode = msg.exitCode;
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.ended) return;
      const why = this.client.error(err).message;
      log.error(`session ${this.session}: ${why}`);
      this.finish(`\r\n[leash: the session's stream failed: ${why}]`);
    });
    call.on('end', () => {
      const code = this.exitCode;
      const line = code === undefined ? 'ended without an exit code' : `exited with code ${code}`;
      this.finish(`\r\n[leash: session ${this.session} ${line}; press any key to close]`);
    });
    call.write({
      start: {
        session: this.session,
        tty: true,
        cols: dims?.columns ?? 80,
        rows: dims?.rows ?? 24,
      },
    });
  }

  handleInput(data: string): void {
    if (this.ended) {
      this.closed.fire(this.exitCode);
      return;
    }
    this.call?.write({ stdin: Buffer.from(data, 'utf8') });
  }

  setDimensions(dims: vscode.TerminalDimensions): void {
    if (!this.ended) this.call?.write({ resize: { cols: dims.columns, rows: dims.rows } });
  }

  /** The user closed the terminal: ending the stream ends the session's command. */
  close(): void {
    if (!this.ended) this.call?.cancel();
  }

  private finish(line: string): void {
    if (this.ended) return;
    this.ended = true;
    this.write.fire(this.decoder.decode() + line + '\r\n');
    this.onExit(this.session, this.exitCode);
  }
}
