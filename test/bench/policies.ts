/** Generated Cedar policies: a working base plus rules that never match the benchmark's work. */
import { compilePolicy } from '@leash/policies';

/** Enough to run the probe: the system readable, the workspace read-write, loopback connects. */
const BASE = `
@id("exec-any")
permit (principal, action == Leash::Action::"Exec", resource);

@id("system-read")
permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/");

@id("workspace-rw")
permit (
  principal,
  action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
  resource in Leash::Dir::"@workspace"
);

@id("dev-null")
permit (principal, action == Leash::Action::"WriteFile", resource == Leash::File::"/dev/null");

@id("connect-loopback")
permit (principal, action == Leash::Action::"Connect", resource)
when { resource.ip.isLoopback() };
`;

const FILE_ACTIONS = '[Leash::Action::"ReadFile", Leash::Action::"WriteFile"]';

/** The i-th extra file rule: a forbid on paths the probe never opens, by exact path, by
 *  directory and by suffix in turn (a suffix rule has to be looked at for every path). */
function fileRule(i: number): string {
  const id = `@id("bench-file-${i}")`;
  const scope = `principal, action in ${FILE_ACTIONS}, resource`;
  switch (i % 3) {
    case 0:
      return `${id}\nforbid (${scope} == Leash::File::"/srv/bench/${i}/key");`;
    case 1:
      return `${id}\nforbid (${scope} in Leash::Dir::"/srv/bench/d${i}");`;
    default:
      return `${id}\nforbid (${scope})\nwhen { resource.name like "*.bench${i}" };`;
  }
}

/** The i-th extra connect rule: a forbid on a range the probe never connects to (v4 and v6). */
function connectRule(i: number): string {
  const range =
    i % 2 === 0 ? `10.${(i >> 8) & 255}.${i & 255}.0/24` : `fd00:${i.toString(16)}::/32`;
  return (
    `@id("bench-connect-${i}")\n` +
    'forbid (principal, action == Leash::Action::"Connect", resource)\n' +
    `when { resource.ip.isInRange(ip("${range}")) };`
  );
}

/** `n` Exec forbids the probe's `/bin/true` (no arguments) never meets: by program path and by
 *  argument in turn, so each exec is judged at the exec event and on its argv. */
export function execRules(n: number): string {
  const scope = 'principal, action == Leash::Action::"Exec", resource';
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? `@id("bench-exec-${i}")\nforbid (${scope} == Leash::File::"/srv/bench/bin/${i}");`
      : `@id("bench-exec-${i}")\nforbid (${scope})\nwhen { context.argv.contains("--bench${i}") };`,
  ).join('\n\n');
}

/** How many Exec rules `text` compiles to for Agent::"shell". */
export function compiledExecRules(text: string, workspace: string): number {
  const r = compilePolicy(text, 'bench.cedar', {
    session: 'bench',
    principals: ['shell'],
    workspace,
    home: '/root',
    policyFile: `${workspace}/.leash/policy.cedar`,
  });
  const shell = r.ir?.principals['shell'];
  if (!r.ok || !shell) {
    throw new Error(`generated policy does not compile: ${JSON.stringify(r.diagnostics[0])}`);
  }
  return shell.exec.length;
}

export interface GeneratedPolicy {
  text: string;
  /** Compiled rules for Agent::"shell" (built-in rules included), as the kernel gets them. */
  fileRules: number;
  connectRules: number;
}

export function compiledCounts(text: string, workspace: string): GeneratedPolicy {
  const r = compilePolicy(text, 'bench.cedar', {
    session: 'bench',
    principals: ['shell'],
    workspace,
    home: '/root',
    policyFile: `${workspace}/.leash/policy.cedar`,
  });
  const shell = r.ir?.principals['shell'];
  if (!r.ok || !shell) {
    throw new Error(`generated policy does not compile: ${JSON.stringify(r.diagnostics[0])}`);
  }
  return { text, fileRules: shell.files.length, connectRules: shell.connects.length };
}

/** A policy whose compiled file and connect rules number `files` and `connects` (built-in
 *  rules included), throwing if the counts come out different. */
export function withPolicy(files: number, connects: number, workspace: string): GeneratedPolicy {
  const base = compiledCounts(BASE, workspace);
  const extraFiles = Array.from({ length: Math.max(0, files - base.fileRules) }, (_, i) =>
    fileRule(i),
  );
  const extraConnects = Array.from({ length: Math.max(0, connects - base.connectRules) }, (_, i) =>
    connectRule(i),
  );
  const policy = compiledCounts([BASE, ...extraFiles, ...extraConnects].join('\n\n'), workspace);
  if (policy.fileRules !== files || policy.connectRules !== connects) {
    throw new Error(
      `generated ${policy.fileRules} file and ${policy.connectRules} connect rules, ` +
        `not ${files} and ${connects}`,
    );
  }
  return policy;
}

/** `statements` policies in all, mostly file rules with some connect rules, for compile_ms. */
export function withStatements(statements: number): string {
  const base = BASE.split('@id').length - 1;
  const extra = Array.from({ length: Math.max(0, statements - base) }, (_, i) =>
    i % 10 === 9 ? connectRule(i) : fileRule(i),
  );
  return [BASE, ...extra].join('\n\n');
}
