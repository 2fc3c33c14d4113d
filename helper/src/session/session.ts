/** A session: its sandbox, its principal, its compiled policy and the guards enforcing it. */
import {
  compilePolicy,
  decideConnect,
  decideFile,
  formatDiagnostic,
  type FileAccess,
  type PolicyIR,
  type PrincipalIR,
  type Verdict,
} from '@leash/policies';
import { ConnectGuard, FileGuard, type FileEvent, type NetEvent } from '@leash/bpf';
import type { AuditWriter } from '../audit/writer';
import type { Logger } from '../log';
import type { DockerRuntime, SandboxContainer } from '../runtime/docker';
import { nowRfc3339Nano } from '../time';

export type Mode = 'enforce' | 'shadow' | 'record';

/** The home directory of the sandbox's user (root) inside the sandbox. */
export const SANDBOX_HOME = '/root';

export interface SessionSpec {
  name: string;
  agent: string;
  workspace: string;
  mode: Mode;
  policyText: string;
  policyOrigin: string;
  command: string[];
  env: Record<string, string>;
}

/** A policy that failed to compile; `diagnostics` are file:line:column lines. */
export class PolicyError extends Error {
  constructor(
    readonly diagnostics: string[],
    origin: string,
  ) {
    super(`policy ${origin} is not valid:\n${diagnostics.join('\n')}`);
  }
}

export function compileFor(spec: {
  name: string;
  agent: string;
  workspace: string;
  policyText: string;
  policyOrigin: string;
}): { ir: PolicyIR; principal: PrincipalIR } {
  const result = compilePolicy(spec.policyText, spec.policyOrigin, {
    session: spec.name,
    principals: [spec.agent],
    workspace: spec.workspace,
    home: SANDBOX_HOME,
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (!result.ok || !result.ir || errors.length > 0) {
    throw new PolicyError(errors.map(formatDiagnostic), spec.policyOrigin);
  }
  const principal = result.ir.principals[spec.agent];
  if (!principal) throw new Error(`compiler gave no rules for principal ${spec.agent}`);
  return { ir: result.ir, principal };
}

export class Session {
  readonly started = nowRfc3339Nano();
  state: 'starting' | 'running' | 'stopped' = 'starting';
  denials = 0;
  container?: SandboxContainer;
  private ir: PolicyIR;
  private rules: PrincipalIR;
  private policyText: string;
  private policyOrigin: string;
  private fileGuard?: FileGuard;
  private connectGuard?: ConnectGuard;
  private readonly stopListeners: (() => void)[] = [];

  constructor(
    readonly spec: SessionSpec,
    private readonly runtime: DockerRuntime,
    private readonly audit: AuditWriter,
    private readonly log: Logger,
    readonly image: string,
  ) {
    const compiled = compileFor(spec);
    this.ir = compiled.ir;
    this.rules = compiled.principal;
    this.policyText = spec.policyText;
    this.policyOrigin = spec.policyOrigin;
  }

  get name(): string {
    return this.spec.name;
  }
  get principal(): string {
    return this.spec.agent;
  }
  get policyHash(): string {
    return this.ir.hash;
  }
  get policy(): { text: string; origin: string; hash: string } {
    return { text: this.policyText, origin: this.policyOrigin, hash: this.ir.hash };
  }

  onStop(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  /** Starts the container and attaches enforcement; on any failure nothing is left running. */
  async start(): Promise<void> {
    this.container = await this.runtime.start({
      session: this.name,
      image: this.image,
      workspace: this.spec.workspace,
      env: this.spec.env,
    });
    const c = this.container;
    try {
      this.connectGuard = new ConnectGuard({
        cgroupPath: c.cgroupPath,
        rules: this.rules.connects,
        onEvent: (e) => this.onNet(e),
      });
      this.fileGuard = new FileGuard({
        mountPoints: c.mountPoints.map((m) =>
          m === '/' ? `/proc/${c.pid}/root` : `/proc/${c.pid}/root${m}`,
        ),
        rules: this.rules.files,
        onEvent: (e) => this.onFile(e),
      });
    } catch (err) {
      await this.stop('enforcement failed to start');
      throw new Error(`could not enforce the policy: ${(err as Error).message}`);
    }
    c.lifeline.on('close', () => {
      if (this.state !== 'stopped') void this.stop('the sandbox ended');
    });
    this.state = 'running';
    this.record('session', 'Start', this.name, {
      workspace: this.spec.workspace,
      mode: this.spec.mode,
      policy: this.ir.hash,
      origin: this.policyOrigin,
      container: c.id,
    });
    this.log.info('session started', {
      container: c.id,
      mounts: c.mountPoints,
      cgroup: c.cgroupPath,
    });
  }

  /** Validates and compiles aside, then swaps at every layer; a bad policy changes nothing. */
  applyPolicy(text: string, origin: string): { oldHash: string; newHash: string } {
    const compiled = compileFor({ ...this.spec, policyText: text, policyOrigin: origin });
    const oldHash = this.ir.hash;
    this.connectGuard?.update(compiled.principal.connects);
    this.fileGuard?.update(compiled.principal.files);
    this.ir = compiled.ir;
    this.rules = compiled.principal;
    this.policyText = text;
    this.policyOrigin = origin;
    this.record('policy', 'Reload', origin, { old: oldHash, new: compiled.ir.hash });
    return { oldHash, newHash: compiled.ir.hash };
  }

  /** Ends the sandbox first, then the guards, so nothing runs unguarded. */
  async stop(reason: string): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.container) {
      await this.runtime.remove(this.container.id).catch((err: Error) => {
        this.log.error('could not remove the container', { error: err.message });
      });
    }
    this.fileGuard?.close();
    this.connectGuard?.close();
    this.record('session', 'Stop', this.name, { reason });
    this.audit.flush();
    this.log.info('session stopped', { reason });
    for (const l of this.stopListeners) l();
  }

  private onFile(e: FileEvent): void {
    const accesses: FileAccess[] =
      e.access === 'readwrite' ? ['read', 'write'] : [e.access as FileAccess];
    const verdicts = accesses.map((a) => ({
      access: a,
      verdict: decideFile(this.rules, e.path, a),
    }));
    const denied = verdicts.filter((v) => v.verdict.decision === 'deny');
    const decision = denied.length > 0 ? 'deny' : 'allow';
    if (decision !== e.decision) {
      this.log.error('kernel and policy disagree on a file open', { event: e, verdicts });
    }
    const deciding = denied.length > 0 ? denied : verdicts;
    const action = deciding.some((v) => v.access === 'write') ? 'WriteFile' : 'ReadFile';
    const policies = union(deciding.map((v) => v.verdict));
    const event = {
      session: this.name,
      principal: this.principal,
      kind: 'file' as const,
      action,
      resource: e.path,
      decision: e.decision,
      policies,
      count: 1,
      pid: e.pid,
      comm: e.comm,
      details: { path: e.path, access: e.access },
    };
    if (e.decision === 'allow') {
      this.audit.countAllowed(`${this.name}\0${this.principal}\0${e.access}\0${e.path}`, event);
    } else {
      this.denials++;
      this.audit.push({ ...event, time: nowRfc3339Nano() });
    }
  }

  private onNet(e: NetEvent): void {
    const verdict = decideConnect(this.rules, e.ip, e.port);
    if (verdict.decision !== e.decision) {
      this.log.error('kernel and policy disagree on a connect', { event: e, verdict });
    }
    if (e.decision === 'deny') this.denials++;
    const resource = e.family === 6 ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
    this.audit.push({
      time: nowRfc3339Nano(),
      session: this.name,
      principal: this.principal,
      kind: 'net',
      action: 'Connect',
      resource,
      decision: e.decision,
      policies: verdict.policies,
      count: 1,
      pid: e.pid,
      comm: e.comm,
      details: { ip: e.ip, port: e.port, protocol: e.protocol },
    });
  }

  private record(
    kind: 'session' | 'policy',
    action: string,
    resource: string,
    details: Record<string, unknown>,
  ): void {
    this.audit.push({
      time: nowRfc3339Nano(),
      session: this.name,
      principal: this.principal,
      kind,
      action,
      resource,
      decision: '',
      policies: [],
      count: 1,
      pid: 0,
      comm: '',
      details,
    });
  }
}

function union(verdicts: Verdict[]): string[] {
  return [...new Set(verdicts.flatMap((v) => v.policies))].sort();
}
