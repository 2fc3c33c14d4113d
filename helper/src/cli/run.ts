/** `leash run`: creates a session, attaches this terminal to its command, exits with its code. */
import * as grpc from '@grpc/grpc-js';
import { agentProfile, registerKeys } from '../agents';
import { ENV_ALLOWLIST } from '../runtime/runtime';
import type { AttachInputMsg, AttachOutputMsg, SessionInfoMsg } from '../grpc';
import { clientError, LeashClient, waitingMetadata } from './client';
import { resolvePolicy } from './policy-source';

export interface RunOptions {
  socket: string;
  name?: string;
  policy?: string;
  mode?: string;
  /** docker (the default) or process. */
  runtime?: string;
  workspace: string;
  agent: string;
  args: string[];
  json: boolean;
  /** Where the command's output goes (the demo captures it). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Forward this process's stdin (false for the demo). */
  stdin?: boolean;
}

export async function run(opts: RunOptions): Promise<{ session: string; exitCode: number }> {
  const policy = resolvePolicy({ policy: opts.policy, workspace: opts.workspace });
  if (policy.notice) process.stderr.write(`leash: ${policy.notice}\n`);
  const client = new LeashClient(opts.socket);
  const forwardStdin = opts.stdin ?? true;
  const tty = forwardStdin && Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // leashd puts the agent's command line together from these arguments (its launch profile).
  const command = opts.args;
  const env: Record<string, string> = {};
  for (const key of [...ENV_ALLOWLIST, ...agentProfile(opts.agent).callerEnv]) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  try {
    // The agent's keys go to leashd; the sandbox gets placeholders (docs/agents.md).
    for (const notice of await registerKeys(client, agentProfile(opts.agent), process.env)) {
      process.stderr.write(opts.json ? JSON.stringify({ notice }) + '\n' : `leash: ${notice}\n`);
    }
    // Creating a session may build a devcontainer image first: allow it time.
    const info = await client.call<SessionInfoMsg>(
      'createSession',
      {
        name: opts.name ?? '',
        agent: opts.agent,
        workspace: opts.workspace,
        mode: opts.mode ?? 'enforce',
        policyText: policy.text,
        policyOrigin: policy.origin,
        command,
        env,
        runtime: opts.runtime ?? '',
      },
      20 * 60_000,
    );
    process.stderr.write(
      opts.json ? JSON.stringify({ session: info.name }) + '\n' : `leash: session ${info.name}\n`,
    );
    for (const notice of info.notices) {
      process.stderr.write(
        opts.json ? JSON.stringify({ notice }) + '\n' : `leash: not honoured: ${notice}\n`,
      );
    }
    const exitCode = await attach(client, { session: info.name }, tty, forwardStdin, opts);
    return { session: info.name, exitCode };
  } finally {
    client.close();
  }
}

/** Attaches this terminal to a command in a session (its own, or with `start.command` a
 *  further one) and resolves with the command's exit code. */
export function attach(
  client: LeashClient,
  start: { session: string; command?: string[]; principal?: string },
  tty: boolean,
  forwardStdin: boolean,
  opts: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream },
): Promise<number> {
  const session = start.session;
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;
  return new Promise((resolve, reject) => {
    const call = (
      client.raw['attach'] as (
        metadata: grpc.Metadata,
      ) => grpc.ClientDuplexStream<AttachInputMsg, AttachOutputMsg>
    ).call(client.raw, waitingMetadata());
    let exitCode: number | undefined;
    const restore = (): void => {
      if (tty) process.stdin.setRawMode(false);
      process.stdin.pause();
    };
    call.on('data', (msg: AttachOutputMsg) => {
      if (msg.stdout) out.write(msg.stdout);
      else if (msg.stderr) err.write(msg.stderr);
      else if (msg.output === 'exitCode') exitCode = msg.exitCode;
    });
    call.on('error', (e: grpc.ServiceError) => {
      restore();
      reject(clientError(e, client.socket));
    });
    call.on('end', () => {
      restore();
      if (exitCode === undefined)
        reject(new Error(`session ${session} ended without an exit code`));
      else resolve(exitCode);
    });

    const size = { cols: process.stdout.columns ?? 0, rows: process.stdout.rows ?? 0 };
    call.write({ start: { ...start, tty, ...size } });
    if (!forwardStdin) {
      call.write({ closeStdin: true });
      return;
    }
    if (tty) {
      process.stdin.setRawMode(true);
      process.stdout.on('resize', () =>
        call.write({ resize: { cols: process.stdout.columns, rows: process.stdout.rows } }),
      );
    }
    process.stdin.on('data', (chunk: Buffer) => call.write({ stdin: chunk }));
    process.stdin.on('end', () => call.write({ closeStdin: true }));
    process.stdin.resume();
  });
}
