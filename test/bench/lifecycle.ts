/**
 * session_start_ms (`leash run shell -- true`, command to exit, against `docker run --rm` of
 * the same image running `true`) and reload_ms (`leash policy apply` on a running session,
 * against `leash sessions`: the same CLI start-up and one plain gRPC round-trip).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LeashClient } from '@leash/helper/dist/cli/client';
import { CLI, sleep, TestDaemon } from '../support/leashd';
import { BENCH_RUN, IMAGE } from './kernel';
import { withPolicy } from './policies';
import { interleave, summarise, type Result } from './stats';

export interface LifecycleSizes {
  startPairs: number;
  reloadPairs: number;
  budgetMs: number;
}

/** Runs a command to its end and returns how long it took, in ms; throws if it failed. */
function timeCommand(command: string, args: string[]): Promise<number[]> {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  }
  return Promise.resolve([ms]);
}

const ms = (rows: number[][]) => ({ samples: rows.map((r) => r[0] as number) });

export async function sessionStart(
  daemon: TestDaemon,
  ws: string,
  sizes: LifecycleSizes,
  log: (line: string) => void,
): Promise<Result> {
  const policy = withPolicy(10, 10, ws);
  const policyFile = path.join(daemon.dir, 'start.cedar');
  fs.writeFileSync(policyFile, policy.text);
  const cli = [CLI, '--socket', daemon.socket];
  const leash = [...cli, 'run', '--policy', policyFile, '--workspace', ws, 'shell', '--', 'true'];
  const docker = ['run', '--rm', '--label', BENCH_RUN, IMAGE, 'true'];

  const started = Date.now();
  const pairs = await interleave(
    { pairs: sizes.startPairs, warmup: 1, budgetMs: sizes.budgetMs },
    () => timeCommand(process.execPath, leash),
    () => timeCommand('docker', docker),
  );
  const result = summarise(
    'session_start_ms/warm',
    'ms',
    ms(pairs.a),
    ms(pairs.b),
    'leash run shell -- true, CLI start-up included, image built; ' +
      'baseline: docker run --rm IMAGE true',
  );
  log(`${result.name}: ${result.value} ms (${pairs.a.length} pairs, ${Date.now() - started} ms)`);
  return result;
}

/**
 * session_start_ms/cold: the first session of a leashd just started on a fresh state
 * directory (its start-up and stop not timed; the image built), against `docker run --rm` of the
 * same image taken right after it.
 */
export async function sessionStartCold(
  ws: string,
  pairs: number,
  log: (line: string) => void,
): Promise<Result> {
  const leash: number[][] = [];
  const docker: number[][] = [];
  const started = Date.now();
  for (let i = 0; i < pairs; i++) {
    const daemon = new TestDaemon();
    try {
      await daemon.start();
      const policyFile = path.join(daemon.dir, 'start.cedar');
      fs.writeFileSync(policyFile, withPolicy(10, 10, ws).text);
      leash.push(
        await timeCommand(process.execPath, [
          ...[CLI, '--socket', daemon.socket, 'run', '--policy', policyFile],
          ...['--workspace', ws, 'shell', '--', 'true'],
        ]),
      );
    } finally {
      await daemon.stop();
    }
    docker.push(await timeCommand('docker', ['run', '--rm', '--label', BENCH_RUN, IMAGE, 'true']));
  }
  const result = summarise(
    'session_start_ms/cold',
    'ms',
    ms(leash),
    ms(docker),
    'the first leash run shell -- true of a leashd just started on a fresh state directory ' +
      '(CLI start-up included, image built); baseline: docker run --rm IMAGE true',
  );
  log(`${result.name}: ${result.value} ms (${pairs} pairs, ${Date.now() - started} ms)`);
  return result;
}

/** Waits until a session named `name` is listed as running. */
async function waitForSession(client: LeashClient, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await client.call<{ sessions: Array<{ name: string; state: string }> }>(
      'listSessions',
      {},
    );
    if (r.sessions.some((s) => s.name === name && s.state === 'running')) return;
    await sleep(200);
  }
  throw new Error(`session ${name} did not start in 60 s`);
}

export async function reload(
  daemon: TestDaemon,
  ws: string,
  sizes: LifecycleSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  const results: Result[] = [];
  for (const rules of [10, 1000])
    results.push(...(await reloadWith(rules, daemon, ws, sizes, log)));
  return results;
}

/** Applies two policies of `rules` file rules that differ in one rule, in turn, to a running
 *  session: each apply is a real change (validate, compile, swap, flush the allow cache). */
async function reloadWith(
  rules: number,
  daemon: TestDaemon,
  ws: string,
  sizes: LifecycleSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  const texts = [withPolicy(rules, 10, ws).text, withPolicy(rules - 1, 10, ws).text];
  const files = texts.map((t, i) => {
    const f = path.join(daemon.dir, `reload-${rules}-${i}.cedar`);
    fs.writeFileSync(f, t);
    return f;
  });
  const name = `bench-reload-${rules}-${process.pid}`;
  const session = daemon.cliAsync([
    ...['run', '--name', name, '--policy', files[0] as string, '--workspace', ws],
    ...['shell', '--', 'sleep', '600'],
  ]);
  const client = new LeashClient(daemon.socket);
  const results: Result[] = [];
  try {
    await waitForSession(client, name);
    const cli = [CLI, '--socket', daemon.socket];
    let turn = 0;
    const started = Date.now();
    const viaCli = await interleave(
      { pairs: sizes.reloadPairs, warmup: 1, budgetMs: sizes.budgetMs },
      () =>
        timeCommand(process.execPath, [
          ...cli,
          ...['policy', 'apply', '--session', name, files[++turn % 2] as string],
        ]),
      () => timeCommand(process.execPath, [...cli, 'sessions']),
    );
    const endToEnd = summarise(
      `reload_ms/cli/${rules}-rules`,
      'ms',
      ms(viaCli.a),
      ms(viaCli.b),
      `leash policy apply (${rules} file rules) end to end; baseline: leash sessions`,
    );
    log(
      `${endToEnd.name}: ${endToEnd.value} ms ` +
        `(${viaCli.a.length} pairs, ${Date.now() - started} ms)`,
    );
    results.push(endToEnd);

    const call = async (method: string, req: object): Promise<number[]> => {
      const start = process.hrtime.bigint();
      const r = await client.call<{ applied?: boolean; diagnostics?: string[] }>(method, req);
      if (method === 'applyPolicy' && !r.applied) {
        throw new Error(`applyPolicy refused: ${(r.diagnostics ?? []).join('; ')}`);
      }
      return [Number(process.hrtime.bigint() - start) / 1e6];
    };
    const viaGrpc = await interleave(
      { pairs: sizes.reloadPairs * 2, warmup: 1, budgetMs: sizes.budgetMs },
      () =>
        call('applyPolicy', {
          session: name,
          policyText: texts[++turn % 2],
          policyOrigin: files[turn % 2],
        }),
      () => call('listSessions', {}),
    );
    const swap = summarise(
      `reload_ms/grpc/${rules}-rules`,
      'ms',
      ms(viaGrpc.a),
      ms(viaGrpc.b),
      'the ApplyPolicy call alone (validate, compile, swap) from a connected client; ' +
        'baseline: ListSessions',
    );
    log(`${swap.name}: ${swap.value} ms (${viaGrpc.a.length} pairs)`);
    results.push(swap);
  } finally {
    client.close();
    daemon.cli(['stop', name]);
    const done = await Promise.race([session.done, sleep(20_000).then(() => undefined)]);
    if (done === undefined) session.kill('SIGKILL');
  }
  return results;
}
