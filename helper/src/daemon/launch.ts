/**
 * The handshake with leash-launch: it prints `leash-launch ready <pid> <fd>` before anything
 * else and waits for one byte on stdin. This reads that line off the command's output and
 * forwards everything after it unchanged.
 */
import type Docker from 'dockerode';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { LAUNCHER_IN_SANDBOX, type DockerRuntime } from '../runtime/docker';

export interface Launched {
  /** The launcher's pid inside the sandbox. */
  pid: number;
  /** Its seccomp listener's descriptor number. */
  fd: number;
}

const READY = /^leash-launch ready (\d+) (\d+)\r?\n/;
/** Longer than any ready line: a stream that starts otherwise is not the launcher speaking. */
const READY_MAX = 64;

/**
 * Resolves with the launcher's report, or with undefined when the output ends or starts with
 * something else (the launcher failed; what it printed is forwarded).
 */
export function readLaunchLine(
  output: Readable,
  forward: (chunk: Buffer) => void,
): Promise<Launched | undefined> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    let settled = false;
    const settle = (launched: Launched | undefined, rest: Buffer): void => {
      settled = true;
      resolve(launched);
      if (rest.length > 0) forward(rest);
    };
    output.on('data', (chunk: Buffer) => {
      if (settled) {
        forward(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const m = READY.exec(text);
      if (m) settle({ pid: Number(m[1]), fd: Number(m[2]) }, head.subarray(m[0].length));
      else if (text.includes('\n') || head.length > READY_MAX) settle(undefined, head);
    });
    output.on('end', () => {
      if (!settled) settle(undefined, head);
    });
  });
}

/** A command started under leash-launch, without a terminal, and handed to the change guard. */
export interface Supervised {
  exec: Docker.Exec;
  /** The exec's stream: write to the command's stdin; `end()` closes it. */
  stream: Duplex;
  /** The command's stdout (its stderr after the launcher's line goes to `onStderr`). */
  stdout: PassThrough;
  launched: Launched;
}

/**
 * Runs `command` in the container under leash-launch, gives its seccomp listener to `supervise`
 * and lets it go. Throws when the launcher does not start (with what it printed) or when
 * `supervise` throws; either way the command never runs, as the launcher's input is closed.
 */
export async function launchSupervised(
  runtime: DockerRuntime,
  containerId: string,
  command: string[],
  opts: { env: Record<string, string>; workdir: string; user?: string },
  supervise: (pid: number, fd: number) => void,
  onStderr: (chunk: Buffer) => void,
): Promise<Supervised> {
  const { exec, stream } = await runtime.exec(
    containerId,
    [LAUNCHER_IN_SANDBOX, '--', ...command],
    {
      tty: false,
      ...opts,
    },
  );
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  runtime.docker.modem.demuxStream(stream, stdout, stderr);
  let printed = '';
  const launched = await readLaunchLine(stderr, (chunk) => {
    printed = (printed + chunk.toString('utf8')).slice(-2000);
    onStderr(chunk);
  });
  if (!launched) {
    stream.end();
    throw new Error(`leash-launch did not start the command: ${printed.trim() || 'no output'}`);
  }
  try {
    supervise(launched.pid, launched.fd);
  } catch (err) {
    stream.end();
    throw err;
  }
  stream.write('g');
  return { exec, stream, stdout, launched };
}
