/** The `leash` CLI: a thin client of leashd; every command takes --json. */
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clientSocket, loadSettings } from '../config';
import type { SessionInfoMsg } from '../grpc';
import { registerMcpCommand } from '../mcp/cli';
import { KNOWN_AGENTS } from '../agents';
import { LeashClient } from './client';
import { demo } from './demo';
import { registerExecCommand } from './exec-cmd';
import {
  EVENT_HEADERS,
  eventRow,
  exportEvent,
  fetchEvents,
  flatEvent,
  streamEvents,
  table,
  type EventQueryOptions,
} from './events';
import { startHelper, stopHelper, type StatusReply } from './helper-cmd';
import {
  checkCommand,
  collect,
  compileCommand,
  explainCommand,
  fmtCommand,
  suggestCommand,
  testCommand,
  type SuggestOptions,
} from './policy-cmd';
import { approvePolicy, readPolicyFile } from './policy-source';
import { run } from './run';
import { registerSecretCommand } from './secret-cmd';
import { SANDBOX_HOME } from '../runtime/runtime';

const program = new Command('leash')
  .description('Run AI coding agents in a sandbox decided by one Cedar policy')
  .option('--socket <path>', "leashd's socket (default: $LEASH_SOCKET or /run/leash/leashd.sock)")
  .enablePositionalOptions();

const socket = (): string => clientSocket(program.opts<{ socket?: string }>().socket);

async function withClient<T>(fn: (c: LeashClient) => Promise<T>): Promise<T> {
  const client = new LeashClient(socket());
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

const helper = program.command('helper').description('start, stop or check leashd');
helper
  .command('start')
  .option('--state-dir <dir>', 'state directory for a new leashd')
  .option('--image <image>', 'sandbox image for a new leashd')
  .option('--json', 'machine-readable output')
  .action(async (o: { stateDir?: string; image?: string; json?: boolean }) => {
    const r = await startHelper({ socket: socket(), stateDir: o.stateDir, image: o.image });
    if (o.json) console.log(JSON.stringify(r));
    else
      console.log(
        r.started ? `leashd started (pid ${r.pid})` : `leashd is already running (pid ${r.pid})`,
      );
  });
helper
  .command('stop')
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) => {
    const stopped = await stopHelper(socket());
    if (o.json) console.log(JSON.stringify({ stopped }));
    else console.log(stopped ? 'leashd stopped' : 'leashd was not running');
  });
helper
  .command('status')
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) => {
    // Nothing listening is said at once; the deadline only bounds a leashd that hangs.
    const s = await withClient((c) => c.call<StatusReply>('status', {}, 30_000));
    if (o.json) console.log(JSON.stringify(s));
    else {
      console.log(
        `leashd ${s.version} (pid ${s.pid}) on ${s.socket}: ${s.healthy ? 'healthy' : 'unhealthy'}`,
      );
      console.log(`backend: ${s.backend} (${s.backendReason})`);
      console.log(`sessions: ${s.sessions}`);
      for (const p of s.problems) console.log(`problem: ${p}`);
    }
    if (!s.healthy) process.exitCode = 1;
  });

program
  .command('run')
  .description(`run an agent in a new session (agents: ${KNOWN_AGENTS.join(', ')})`)
  .argument('<agent>', 'the agent to run')
  .argument('[args...]', 'arguments for the agent; for shell, the command to run')
  .option('--name <name>', 'session name (default: a short unique id)')
  .option(
    '--policy <file>',
    'Cedar policy file (default: .leash/policy.cedar, else the default policy)',
  )
  .option('--mode <mode>', 'enforce, shadow (log would-deny, allow) or record (log all)', 'enforce')
  .option('--workspace <dir>', 'the workspace directory', process.cwd())
  .option('--runtime <runtime>', 'docker (a container) or process (no image)', 'docker')
  .option('--json', 'print the session as JSON on stderr')
  .passThroughOptions()
  .action(
    async (agent: string, args: string[], o: Record<string, string | boolean | undefined>) => {
      if (!KNOWN_AGENTS.includes(agent)) {
        throw new Error(`unknown agent ${agent}; known agents: ${KNOWN_AGENTS.join(', ')}`);
      }
      const { exitCode } = await run({
        socket: socket(),
        agent,
        args: args[0] === '--' ? args.slice(1) : args,
        name: o.name as string | undefined,
        policy: o.policy as string | undefined,
        mode: o.mode as string,
        runtime: o.runtime as string,
        workspace: path.resolve(o.workspace as string),
        json: Boolean(o.json),
      });
      process.exitCode = exitCode;
    },
  );

program
  .command('agents')
  .description('the agents Leash can run, their pinned versions, and whether their image is built')
  .option('--json', 'JSON Lines output')
  .action(async (o: { json?: boolean }) => {
    // Loaded here: it needs dockerode, which would slow every other command's start.
    const { listAgents } = await import('../agents/list');
    const rows = await listAgents(loadSettings({}));
    if (o.json) for (const r of rows) console.log(JSON.stringify(r));
    else
      console.log(
        table(
          ['AGENT', 'NAME', 'PACKAGE', 'VERSION', 'IMAGE', 'BUILT'],
          rows.map((r) => [r.agent, r.title, r.package, r.version, r.image, r.built]),
        ),
      );
  });

program
  .command('sessions')
  .description('list running sessions; with --all, every session in the audit log')
  .option('--all', 'include ended sessions, with totals from the audit log')
  .option('--json', 'JSON Lines output')
  .action(async (o: { all?: boolean; json?: boolean }) => {
    if (o.all) {
      const r = await withClient((c) =>
        c.call<{
          sessions: {
            session: string;
            events: string;
            denials: string;
            first: string;
            last: string;
          }[];
        }>('sessionHistory', {}),
      );
      if (o.json) for (const s of r.sessions) console.log(JSON.stringify(s));
      else
        console.log(
          table(
            ['SESSION', 'EVENTS', 'DENIALS', 'FIRST', 'LAST'],
            r.sessions.map((s) => [s.session, s.events, s.denials, s.first, s.last]),
          ),
        );
      return;
    }
    const r = await withClient((c) => c.call<{ sessions: SessionInfoMsg[] }>('listSessions', {}));
    if (o.json) for (const s of r.sessions) console.log(JSON.stringify(s));
    else
      console.log(
        table(
          ['NAME', 'AGENT', 'MODE', 'STATE', 'DENIALS', 'WORKSPACE'],
          r.sessions.map((s) => [s.name, s.agent, s.mode, s.state, s.denials, s.workspace]),
        ),
      );
  });

program
  .command('stop')
  .description('stop a session')
  .argument('<name>')
  .option('--json', 'machine-readable output')
  .action(async (name: string, o: { json?: boolean }) => {
    await withClient((c) => c.call('stopSession', { name }));
    console.log(o.json ? JSON.stringify({ stopped: name }) : `session ${name} stopped`);
  });

type EventOptions = Record<string, string | boolean | undefined>;

/** A time given by the user, as the audit log's RFC 3339 form (nanoseconds, UTC). */
function auditTime(value: string | undefined, flag: string): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new Error(`${flag} ${value} is not a date; use e.g. 2026-12-04T16:00:00Z`);
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

function eventQuery(o: EventOptions): EventQueryOptions {
  return {
    session: o.session as string | undefined,
    principal: o.principal as string | undefined,
    kind: o.kind as string | undefined,
    decision: o.decision as string | undefined,
    since: auditTime(o.since as string | undefined, '--since'),
    until: auditTime(o.until as string | undefined, '--until'),
    text: o.text as string | undefined,
    afterId: o.after as string | undefined,
    follow: Boolean(o.follow),
  };
}

function eventFilters(cmd: Command): Command {
  return cmd
    .option('--session <name>')
    .option('--principal <agent>')
    .option('--kind <kind>', 'file, exec, net, http, mcp, policy, session or loss')
    .option('--decision <decision>', 'allow, deny or would-deny')
    .option('--since <time>', 'only events at or after this time (RFC 3339)')
    .option('--until <time>', 'only events at or before this time (RFC 3339)')
    .option('--text <text>', 'only events whose resource contains this text')
    .option('--after <id>', 'only events after this id');
}

const events = eventFilters(program.command('events').description('decisions from the audit log'))
  .option('--follow', 'keep streaming new events')
  .option('--json', 'JSON Lines output')
  .action(async (o: EventOptions) => {
    // A table needs every row to align; a live stream prints each row as it comes.
    const rows: string[][] = [];
    if (!o.json && o.follow) console.log(EVENT_HEADERS.join('  '));
    await withClient((c) =>
      streamEvents(c, eventQuery(o), (e) => {
        if (o.json) console.log(JSON.stringify(flatEvent(e)));
        else if (o.follow) console.log(eventRow(e).join('  '));
        else rows.push(eventRow(e));
      }),
    );
    if (!o.json && !o.follow) console.log(table(EVENT_HEADERS, rows));
  });
eventFilters(events.command('export').description('the audit log as JSON Lines (docs/audit.md)'))
  .option('--output <file>', 'write to this file instead of standard output')
  .action(async (o: EventOptions) => {
    const out = o.output
      ? fs.createWriteStream(o.output as string, { mode: 0o600 })
      : process.stdout;
    let n = 0;
    await withClient((c) =>
      streamEvents(c, { ...eventQuery(o), follow: false }, (e) => {
        out.write(JSON.stringify(exportEvent(e)) + '\n');
        n++;
      }),
    );
    if (o.output) {
      await new Promise((r) => (out as fs.WriteStream).end(r));
      console.error(`exported ${n} events to ${o.output as string}`);
    }
  });

program
  .command('mode')
  .description('switch a session to enforce, shadow or record')
  .argument('<session>')
  .argument('<mode>', 'enforce, shadow or record')
  .option('--json', 'machine-readable output')
  .action(async (session: string, mode: string, o: { json?: boolean }) => {
    const info = await withClient((c) => c.call<SessionInfoMsg>('setMode', { session, mode }));
    console.log(o.json ? JSON.stringify(info) : `session ${info.name} is now in ${info.mode} mode`);
  });

registerMcpCommand(program, withClient);

const policy = program
  .command('policy')
  .description('check, compile, format, explain, test, suggest, apply or approve Cedar policies');
const sessionOptions = (c: Command): Command =>
  c
    .option('--workspace <dir>', 'the path @workspace stands for (default /workspace)')
    .option('--home <dir>', 'the path @home stands for (default /home/agent)')
    .option('--session <name>', 'the session the principals belong to');
policy
  .command('check')
  .description('check a policy: errors, and lint warnings (exit 1 only on errors)')
  .argument('<file>')
  .option('--json', 'diagnostics as JSON')
  .action(checkCommand);
sessionOptions(policy.command('compile'))
  .description('print the rules a policy compiles to')
  .argument('<file>')
  .option('--principal <name>', 'a principal to compile for (repeatable; default shell)', collect)
  .option('--json', 'the IR as JSON')
  .action(compileCommand);
policy
  .command('fmt')
  .description("format a policy with Cedar's formatter (prints it, or rewrites with --write)")
  .argument('<file>')
  .option('--write', 'rewrite the file in place')
  .option('--json', 'machine-readable output')
  .action(fmtCommand);
sessionOptions(policy.command('explain'))
  .description('explain the decision on one request, and what would change it')
  .argument('<file>')
  .requiredOption('--request <json>', '{"principal":"shell","action":"ReadFile","resource":"/p"}')
  .option('--json', 'machine-readable output')
  .action(explainCommand);
sessionOptions(policy.command('test'))
  .description("check a policy's examples (NAME.examples.json) against Cedar and the IR")
  .argument('<file>')
  .option('--examples <file>', 'the examples file (default: beside the policy)')
  .option('--json', 'machine-readable output')
  .action(testCommand);
policy
  .command('apply')
  .description("replace a running session's policy (validated first; a bad one changes nothing)")
  .requiredOption('--session <name>')
  .argument('<file>')
  .option('--json', 'machine-readable output')
  .action(async (file: string, o: { session: string; json?: boolean }) => {
    const source = readPolicyFile(file);
    const r = await withClient((c) =>
      c.call<{ applied: boolean; oldHash: string; newHash: string; diagnostics: string[] }>(
        'applyPolicy',
        { session: o.session, policyText: source.text, policyOrigin: source.origin },
      ),
    );
    if (o.json) console.log(JSON.stringify(r));
    else if (r.applied)
      console.log(`applied ${source.origin} to ${o.session} (${r.newHash.slice(0, 12)})`);
    else console.error(`not applied; the running policy stays:\n${r.diagnostics.join('\n')}`);
    if (!r.applied) process.exitCode = 1;
  });
policy
  .command('suggest')
  .description('a policy that allows what a recorded session did, checked before it is printed')
  .requiredOption('--session <name>', 'the session (best run with --mode record)')
  .option('--base <file>', 'the policy it adds to (default: the built-in default policy)')
  .option('--output <file>', 'write the suggested policy to this file')
  .option('--json', 'machine-readable output')
  .action(async (o: SuggestOptions) => {
    const events = await withClient((c) => fetchEvents(c, { session: o.session }));
    suggestCommand(o, events.map(flatEvent), SANDBOX_HOME);
  });
policy
  .command('approve')
  .alias('trust')
  .description("trust a workspace's own .leash/policy.cedar as it is now")
  .argument('<file>')
  .action((file: string) => {
    const hash = approvePolicy(file);
    console.log(`approved ${path.resolve(file)} (${hash.slice(0, 12)})`);
  });

program
  .command('ui')
  .description("print the Control UI's address, with the token it needs")
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) => {
    const r = await withClient((c) =>
      c.call<{ port: number; token: string; problem: string }>('controlUi', {}),
    );
    if (r.port === 0) throw new Error(r.problem);
    const url = `http://127.0.0.1:${r.port}/#token=${r.token}`;
    console.log(o.json ? JSON.stringify({ url }) : url);
  });

registerSecretCommand(program, withClient);
registerExecCommand(program, socket);

program
  .command('demo')
  .description('run a sandboxed session on the default policy and show what was allowed and denied')
  .option('--json', 'the decisions as JSON Lines')
  .action(async (o: { json?: boolean }) => {
    process.exitCode = await demo({ socket: socket(), json: Boolean(o.json) });
  });

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`leash: ${err.message}\n`);
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
});
