/**
 * Runs a one-off command in a session's sandbox under leash-launch (so the change guard judges
 * what it renames and deletes, like any other command of the session) and waits for it: a
 * devcontainer's postCreateCommand, before the agent starts.
 */
import { PassThrough } from 'node:stream';
import { readLaunchLine } from '../daemon/launch';
import { LAUNCHER_IN_SANDBOX, type DockerRuntime } from '../runtime/docker';

const TAIL = 4000;

export interface OneOff {
  command: string[];
  env: Record<string, string>;
  workdir: string;
  user?: string;
}

/** The command's exit code and the last few thousand characters of its output. */
export async function runOneOff(
  runtime: DockerRuntime,
  containerId: string,
  job: OneOff,
  supervise: (pid: number, fd: number) => void,
): Promise<{ code: number; output: string }> {
  const { exec, stream } = await runtime.exec(
    containerId,
    [LAUNCHER_IN_SANDBOX, '--', ...job.command],
    {
      tty: false,
      env: job.env,
      workdir: job.workdir,
      ...(job.user !== undefined ? { user: job.user } : {}),
    },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-TAIL);
  };
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', keep);
  runtime.docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((resolve) => stream.on('end', resolve));
  const launched = await readLaunchLine(stderr, keep);
  if (!launched) {
    stream.end();
    await ended;
    return { code: 255, output: `leash-launch did not start the command: ${output.trim()}` };
  }
  supervise(launched.pid, launched.fd);
  stream.write('g');
  await ended;
  return { code: (await exec.inspect()).ExitCode ?? 255, output };
}
