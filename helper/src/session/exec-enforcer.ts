/**
 * A session's exec enforcement: the ExecGuard on the session's cgroup (argv, judged in the
 * kernel), the FileGuard's program-path verdicts it is paired with, and the `exec` audit events
 * both produce. Exec rules the kernel cannot enforce exactly are refused with the policy.
 */
import { decideExec, type ExecRule, type PrincipalIR, type Verdict } from '@leash/policies';
import {
  ExecGuard,
  execPinPath,
  execRulesUnenforceable,
  releasePin,
  type ExecEvent,
  type FileEvent,
} from '@leash/bpf';
import type { AuditWriter } from '../audit/writer';
import type { EventDecision } from '../audit/event';
import type { Logger } from '../log';
import { LAUNCHER_IN_SANDBOX } from '../runtime/docker';
import { nowRfc3339Nano } from '../time';
import type { Mode } from './modes';

const BUILTIN_PREFIX = 'leash:builtin/';

/** Why the policy's Exec rules cannot be enforced (one line per reason), empty when they can. */
export function execDiagnostics(principal: PrincipalIR, origin: string): string[] {
  const why = execRulesUnenforceable(principal.exec);
  return why === undefined
    ? []
    : [
        `${origin}: error: Exec rules cannot be enforced exactly by the kernel: ${why} [exec-bounds]`,
      ];
}

/** What the kernel enforces of Exec in a mode: all of it in enforce; otherwise every exec is
 *  allowed except by the built-in rules and the forbids annotated `@always`. */
export function enforcedExecRules(mode: Mode, rules: PrincipalIR, always: Set<string>): ExecRule[] {
  if (mode === 'enforce') return rules.exec;
  const held = rules.exec.filter(
    (r) => r.effect === 'forbid' && (r.id.startsWith(BUILTIN_PREFIX) || always.has(r.id)),
  );
  return [{ id: `leash:mode/${mode}`, effect: 'permit', match: [] }, ...held];
}

export interface ExecSessionView {
  name: string;
  principal: string;
  mode(): Mode;
  rules(): PrincipalIR;
  onDenial(): void;
}

/** A script's own arguments: what follows its path in its interpreter's argv[1..]. */
function scriptArgs(script: string, argv: string[]): string[] {
  const name = script.slice(script.lastIndexOf('/') + 1);
  const at = argv.findIndex((a) => a === script || a.endsWith(`/${name}`) || a === name);
  return at < 0 ? argv : argv.slice(at + 1);
}

export class ExecEnforcer {
  readonly guard: ExecGuard;
  /** Where the program is pinned, so that it outlives leashd (when leashd pins at all). */
  private readonly pin?: string;

  constructor(
    private readonly session: ExecSessionView,
    cgroupPath: string,
    rules: ExecRule[],
    private readonly audit: AuditWriter,
    private readonly log: Logger,
  ) {
    this.guard = new ExecGuard({
      cgroupPath,
      rules,
      onEvent: (e) => this.onExec(e),
      quietAllowed: session.mode() === 'enforce',
      // Every session command starts as leash-launch, whatever the policy says of Exec.
      trustedPrograms: [LAUNCHER_IN_SANDBOX],
    });
    try {
      this.pin = execPinPath(session.name, session.principal);
      if (this.pin !== undefined) this.guard.pin(this.pin);
    } catch (err) {
      this.guard.close();
      if (this.pin !== undefined) releasePin(this.pin);
      throw err;
    }
  }

  /** Allowed execs are only counted in enforce mode, so their reports may come late. */
  update(rules: ExecRule[], mode: Mode): void {
    this.guard.update(rules, { quietAllowed: mode === 'enforce' });
  }

  close(): void {
    this.guard.close();
    if (this.pin !== undefined) releasePin(this.pin);
  }

  /** A program-path verdict from the FileGuard (access `exec`). A refusal is final (execve
   *  failed with EPERM); an allowed program is logged when it starts, with its argv. */
  onProgram(e: FileEvent): void {
    if (e.decision === 'allow') return;
    // As the caller asked for it; the refusal did not depend on it.
    const argv = e.argv?.slice(1);
    const verdict = decideExec(this.session.rules(), e.path, argv ?? []);
    this.write(e.path, argv, 'deny', verdict, e.pid, e.comm, {});
  }

  private onExec(e: ExecEvent): void {
    if (e.program === LAUNCHER_IN_SANDBOX) return; // leashd's own start of the session command
    const argv = e.argv.slice(1);
    const program = e.script ?? e.program;
    const resource = program ?? (e.loader ? 'dynamic loader' : 'unknown program');
    let verdict: Verdict = { decision: 'deny', policies: [] };
    if (program !== undefined && !e.loader && !e.overflow) {
      const rules = this.session.rules();
      const own = e.script === undefined ? argv : scriptArgs(e.script, argv);
      verdict = decideExec(rules, program, own);
      if (e.script !== undefined && e.program !== undefined && verdict.decision === 'allow') {
        const interpreter = decideExec(rules, e.program, argv);
        if (interpreter.decision === 'deny') verdict = interpreter;
      }
    }
    const details: Record<string, unknown> = {};
    if (e.script !== undefined && e.program !== undefined) details.interpreter = e.program;
    if (e.truncated) details.truncated = true;
    if (e.unknownProgram) details.unknownProgram = true;
    if (e.overflow) details.overflow = true;
    if (e.loader) details.loader = true;
    this.write(resource, argv, e.decision, verdict, e.pid, e.comm, details);
  }

  private write(
    resource: string,
    argv: string[] | undefined,
    kernel: 'allow' | 'deny',
    policy: Verdict,
    pid: number,
    comm: string,
    details: Record<string, unknown>,
  ): void {
    const mode = this.session.mode();
    let decision: EventDecision = kernel;
    if (mode !== 'enforce' && kernel === 'allow' && policy.decision === 'deny') {
      decision = 'would-deny';
    } else if (mode === 'enforce' && kernel === 'allow' && policy.decision === 'deny') {
      this.log.error('kernel and policy disagree on an exec', { resource, argv });
    }
    if (decision === 'deny') this.session.onDenial();

    const event = {
      session: this.session.name,
      principal: this.session.principal,
      kind: 'exec' as const,
      action: 'Exec',
      resource,
      decision,
      policies: policy.policies,
      count: 1,
      pid,
      comm,
      details: argv === undefined ? details : { ...details, argv },
    };
    // Allowed execs are counted per program and arguments, except in record mode.
    if (decision === 'allow' && mode !== 'record') {
      const key = [this.session.name, this.session.principal, resource, ...(argv ?? [])];
      this.audit.countAllowed(`exec\0${key.join('\0')}`, event);
    } else {
      this.audit.push({ ...event, time: nowRfc3339Nano() });
    }
  }
}
