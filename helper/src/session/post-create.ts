/**
 * Runs a one-off command in a session's sandbox under leash-launch (so the change guard judges
 * what it renames and deletes, like any other command of the session) and waits for it: a
 * devcontainer's postCreateCommand, before the agent starts.
 */
import { launchSupervised } from '../daemon/launch';
import type { DockerRuntime } from '../runtime/docker';

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
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-TAIL);
  };
  const { command, ...opts } = job;
  let run;
  try {
    run = await launchSupervised(runtime, containerId, command, opts, supervise, keep);
  } catch (err) {
    return { code: 255, output: (err as Error).message };
  }
  run.stdout.on('data', keep);
  await new Promise<void>((resolve) => run.stream.on('end', resolve));
  return { code: (await run.exec.inspect()).ExitCode ?? 255, output };
}
