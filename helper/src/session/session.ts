/** A session: its sandbox, its principal, its compiled policy and the guards enforcing it. */
import {
  compilePolicy,
  policyAnnotations,
  decideConnect,
  decideFile,
  formatDiagnostic,
  type FileAccess,
  type PolicyIR,
  type PrincipalIR,
  type Verdict,
} from '@leash/policies';
import {
  ChangeGuard,
  changesBelow,
  ConnectGuard,
  connectPinDir,
  FileGuard,
  forbidsBelow,
  takeSeccompListener,
  type LsmGuard,
  type ChangeEvent,
  type FileEvent,
  type NetEvent,
} from '@leash/bpf';
import * as fs from 'node:fs';
import type { AuditWriter } from '../audit/writer';
import type { EventDecision } from '../audit/event';
import type { Logger } from '../log';
import { egressConnectRules, egressContainerSpec, SessionEgress } from '../proxy/session-egress';
import { McpBridge } from '../mcp/bridge';
import { governedServers } from '../mcp/servers';
import { SessionMcp } from '../mcp/session-mcp';
import { bindsOf, type DevcontainerSetup } from '../runtime/devcontainer';
import { DockerRuntime, LAUNCHER_IN_SANDBOX } from '../runtime/docker';
import { ProcessRuntime, sandboxUser } from '../runtime/process';
import {
  SANDBOX_HOME,
  type RuntimeName,
  type Sandbox,
  type SandboxCommand,
} from '../runtime/runtime';
import { nowRfc3339Nano } from '../time';
import { enforcedRules, type Mode } from './modes';
import { enforcedExecRules, ExecEnforcer, execDiagnostics } from './exec-enforcer';
import { Keeper } from './keeper';
import { runOneOff } from './post-create';
import { checkPrincipalName, PrincipalGuards } from './principals';
import { LossWatch, type LossSource } from './loss-watch';
import { lsmOptions, startLsmFiles } from './lsm-files';

export type { Mode } from './modes';

export { SANDBOX_HOME };

export interface SessionSpec {
  name: string;
  agent: string;
  workspace: string;
  mode: Mode;
  policyText: string;
  policyOrigin: string;
  command: string[];
  env: Record<string, string>;
  /** The sandbox user's home, which `@home` stands for; SANDBOX_HOME when unset. */
  home?: string;
  /** What runs the sandbox: a container, or a bare process tree (docs/runtimes.md). */
  runtime: RuntimeName;
  /** What the workspace's devcontainer.json asks for beyond its image. */
  devcontainer?: DevcontainerSetup;
  /** What else the session was asked for and does not honour (the process runtime's). */
  notices?: string[];
  /** Cedar the agent's profile adds to every version of the policy (its API hosts). */
  agentPolicy?: string;
  /** The agent's configuration volumes (`name:path:rw`), mounted for the agent alone. */
  volumes?: string[];
  /** The kernel backend leashd chose (docs/lsm.md): `lsm` judges opens, changes by path and
   *  programs in BPF LSM hooks; `portable` (the default) with fanotify. */
  backend?: 'lsm' | 'portable';
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

/** Compiles the session's policy for its agent and for `others`, its further principals. */
export function compileFor(
  spec: {
    name: string;
    agent: string;
    workspace: string;
    policyText: string;
    policyOrigin: string;
    home?: string;
    runtime?: RuntimeName;
    agentPolicy?: string;
  },
  others: string[] = [],
): {
  ir: PolicyIR;
  principal: PrincipalIR;
  others: Map<string, PrincipalIR>;
  always: Set<string>;
} {
  // Appended, so the positions of the user's policy text are unchanged in diagnostics.
  const text = spec.policyText + (spec.agentPolicy ?? '');
  const result = compilePolicy(text, spec.policyOrigin, {
    session: spec.name,
    principals: [spec.agent, ...others],
    workspace: spec.workspace,
    home: spec.home ?? SANDBOX_HOME,
    // The policy file itself is never writable from the sandbox (when it is visible there).
    policyFile: spec.policyOrigin,
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (!result.ok || !result.ir || errors.length > 0) {
    throw new PolicyError(errors.map(formatDiagnostic), spec.policyOrigin);
  }
  const compiled = new Map<string, PrincipalIR>();
  for (const name of [spec.agent, ...others]) {
    const rules = result.ir.principals[name];
    if (!rules) throw new Error(`compiler gave no rules for principal ${name}`);
    // A process sandbox has loopback only: nothing to let through to the proxy.
    if (spec.runtime !== 'process') {
      rules.connects = [...egressConnectRules(rules), ...rules.connects];
    }
    const execErrors = execDiagnostics(rules, spec.policyOrigin);
    if (execErrors.length > 0) throw new PolicyError(execErrors, spec.policyOrigin);
    compiled.set(name, rules);
  }
  const principal = compiled.get(spec.agent) as PrincipalIR;
  compiled.delete(spec.agent);
  const always = new Set<string>();
  for (const [id, annotations] of policyAnnotations(spec.policyText)) {
    if ('always' in annotations) always.add(id);
  }
  return { ir: result.ir, principal, others: compiled, always };
}

export class Session {
  readonly started = nowRfc3339Nano();
  state: 'starting' | 'running' | 'stopped' = 'starting';
  denials = 0;
  container?: Sandbox;
  private ir: PolicyIR;
  private rules: PrincipalIR;
  private always: Set<string>;
  private mode: Mode;
  private policyText: string;
  private policyOrigin: string;
  private fileGuard?: FileGuard;
  /** On the lsm backend: opens, changes by path and programs (fileGuard then marks execs). */
  private lsmGuard?: LsmGuard;
  /** The further principals' rule slots in lsmGuard, by slot. */
  private readonly lsmSlots = new Map<number, PrincipalGuards>();
  private changeGuard?: ChangeGuard;
  private keeper?: Keeper;
  private connectGuard?: ConnectGuard;
  private egress?: SessionEgress;
  private exec?: ExecEnforcer;
  private losses?: LossWatch;
  /** Principals started with `leash exec --principal`, each in its own cgroup leaf. */
  private readonly others = new Map<string, PrincipalGuards>();
  /** MCP governance: the policy and audit side, and the stdio bridge when servers are declared. */
  readonly mcp: SessionMcp;
  private mcpBridge?: McpBridge;
  private readonly stopListeners: (() => void)[] = [];

  constructor(
    readonly spec: SessionSpec,
    private readonly runtime: DockerRuntime | ProcessRuntime,
    private readonly audit: AuditWriter,
    private readonly log: Logger,
    readonly image: string,
  ) {
    const compiled = compileFor(spec);
    this.ir = compiled.ir;
    this.rules = compiled.principal;
    this.always = compiled.always;
    this.mode = spec.mode;
    this.policyText = spec.policyText;
    this.policyOrigin = spec.policyOrigin;
    this.mcp = new SessionMcp(
      {
        name: spec.name,
        principal: spec.agent,
        rules: () => this.rules,
        mode: () => this.mode,
        always: () => this.always,
        denied: () => void this.denials++,
      },
      audit,
    );
  }

  /** The agent's command, pointed at the governed MCP servers through the shim. */
  commandLine(): string[] {
    return this.mcpBridge?.agentCommand(this.spec.agent, this.spec.command) ?? this.spec.command;
  }

  get currentMode(): Mode {
    return this.mode;
  }

  get name(): string {
    return this.spec.name;
  }
  get principal(): string {
    return this.spec.agent;
  }
  /** The agent, then each governed MCP server whose sandbox runs. */
  get principals(): string[] {
    return [this.principal, ...this.others.keys(), ...(this.mcpBridge?.principals() ?? [])];
  }
  /** What the session was asked for and does not honour, for the user. */
  get notices(): string[] {
    return [...(this.spec.notices ?? []), ...(this.spec.devcontainer?.notices ?? [])];
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

  /** Starts the sandbox and attaches enforcement; on any failure nothing is left running. */
  async start(): Promise<void> {
    this.container = await this.startSandbox();
    const c = this.container;
    try {
      const enforced = enforcedRules(this.mode, this.rules, this.always);
      const exec = enforcedExecRules(this.mode, this.rules, this.always);
      this.connectGuard = new ConnectGuard({
        cgroupPath: c.cgroupPath,
        rules: enforced.connects,
        onEvent: (e) => this.onNet(this.principal, e),
        pinDir: connectPinDir(this.name, this.principal),
      });
      this.exec = new ExecEnforcer(
        {
          name: this.name,
          principal: this.principal,
          mode: () => this.mode,
          rules: () => this.rules,
          onDenial: () => this.denials++,
        },
        c.cgroupPath,
        exec,
        this.audit,
        this.log,
      );
      const lsm = this.spec.backend === 'lsm';
      if (lsm) {
        this.lsmGuard = startLsmFiles(
          {
            session: this.name,
            principal: this.principal,
            cgroupPath: c.cgroupPath,
            // The opener's principal, as the portable answerer names it: by its cgroup.
            onFile: (e, slot) => {
              const g = this.lsmSlots.get(slot);
              this.onFile(g ? { ...e, cgroup: g.cgroup } : e);
            },
            onChange: (e, slot) =>
              this.onChange(this.lsmSlots.get(slot)?.name ?? this.principal, e),
          },
          enforced.files,
          exec,
          this.mode,
        );
      }
      this.fileGuard = new FileGuard({
        execGuard: this.exec.guard,
        caching: enforced.caching,
        mountPoints: c.mountPoints.map((m) =>
          m === '/' ? `/proc/${c.pid}/root` : `/proc/${c.pid}/root${m}`,
        ),
        rules: enforced.files,
        onEvent: (e) => this.onFile(e),
        execOnly: lsm,
      });
      this.changeGuard = new ChangeGuard({
        rules: enforced.files,
        onEvent: (e) => this.onChange(this.principal, e),
      });
      const servers = governedServers();
      const docker = this.runtime instanceof DockerRuntime ? this.runtime : undefined;
      if (!docker && servers.size > 0) {
        this.log.warn('governed MCP servers are not offered to process sessions yet');
      }
      // A governed server's own sandbox is a session of principal mcp:<server>; it has none.
      if (docker && servers.size > 0 && !this.principal.startsWith('mcp:')) {
        this.mcpBridge = await McpBridge.open({
          session: this.name,
          workspace: this.spec.workspace,
          servers,
          runtime: docker,
          mcp: this.mcp,
          ...(this.spec.devcontainer?.owner ? { owner: this.spec.devcontainer.owner } : {}),
          principalSandbox: (principal, command, env) =>
            new Session(
              {
                ...this.spec,
                agent: principal,
                command,
                env: { ...this.spec.env, ...env },
                mode: this.mode,
                policyText: this.policyText,
                policyOrigin: this.policyOrigin,
              },
              docker,
              this.audit,
              this.log.child({ principal }),
              this.image,
            ),
          log: this.log.child({ component: 'mcp' }),
        });
      }
      if (this.runtime instanceof DockerRuntime) {
        this.egress = await SessionEgress.attach(
          {
            name: this.name,
            principal: this.principal,
            rules: () => this.rules,
            mode: () => this.mode,
            always: () => this.always,
            push: (e) => {
              if (e.decision === 'deny') this.denials++;
              this.audit.push(e);
            },
            mcp: () => this.mcp,
            log: this.log,
          },
          c,
        );
      }
    } catch (err) {
      await this.stop('enforcement failed to start');
      throw new Error(`could not enforce the policy: ${(err as Error).message}`);
    }
    this.losses = new LossWatch(this.name, () => this.lossSources(), this.audit);
    // A session never outlives its keeper: with both gone, nothing would hold the group.
    this.keeper = Keeper.start(this.fileGuard.groupFd(), c.pid, c.cgroupPath, (why) => {
      if (this.state === 'stopped') return;
      this.log.error('the keeper ended; ending the session', { why });
      void this.stop('the keeper ended');
    });
    c.lifeline.on('close', () => {
      if (this.state !== 'stopped') void this.stop('the sandbox ended');
    });
    await this.runPostCreate();
    this.state = 'running';
    this.record('session', 'Start', this.name, {
      workspace: this.spec.workspace,
      mode: this.mode,
      policy: this.ir.hash,
      origin: this.policyOrigin,
      container: c.id,
      backend: this.spec.backend ?? 'portable',
    });
    this.log.info('session started', {
      container: c.id,
      mounts: c.mountPoints,
      cgroup: c.cgroupPath,
    });
  }

  private async startSandbox(): Promise<Sandbox> {
    if (this.runtime instanceof ProcessRuntime) {
      const workspace = this.spec.workspace;
      return this.runtime.start({ session: this.name, workspace, user: sandboxUser(workspace) });
    }
    const egress = egressContainerSpec();
    return this.runtime.start({
      session: this.name,
      image: this.image,
      workspace: this.spec.workspace,
      env: { ...this.spec.env, ...egress.env },
      binds: [
        ...egress.binds,
        ...bindsOf(this.spec.devcontainer?.mounts ?? []),
        // An MCP server's sandbox does not get the agent's configuration (its logins).
        ...(this.principal.startsWith('mcp:') ? [] : (this.spec.volumes ?? [])),
      ],
      dns: egress.dns,
    });
  }

  /**
   * Starts `command` in the sandbox under leash-launch, which waits for the go-ahead until
   * superviseLaunch has taken it over.
   */
  async startCommand(command: string[], tty: boolean): Promise<SandboxCommand> {
    if (!this.container) throw new Error(`session ${this.name} has no sandbox`);
    const user = this.spec.devcontainer?.user;
    return this.runtime.run(this.container.id, [LAUNCHER_IN_SANDBOX, '--', ...command], {
      tty,
      env: this.spec.env,
      workdir: this.spec.workspace,
      ...(user !== undefined ? { user } : {}),
    });
  }

  /** Runs the devcontainer's postCreateCommand under the policy; a failure ends the session. */
  private async runPostCreate(): Promise<void> {
    const dc = this.spec.devcontainer;
    if (!dc?.postCreate || !this.container || !(this.runtime instanceof DockerRuntime)) return;
    const command =
      'argv' in dc.postCreate ? dc.postCreate.argv : ['/bin/sh', '-c', dc.postCreate.shell];
    const result = await runOneOff(
      this.runtime,
      this.container.id,
      {
        command,
        env: this.spec.env,
        workdir: this.spec.workspace,
        ...(dc.user !== undefined ? { user: dc.user } : {}),
      },
      (pid, fd) => this.superviseLaunch(pid, fd),
    );
    if (result.code !== 0) {
      await this.stop('postCreateCommand failed');
      throw new Error(
        `postCreateCommand of ${dc.file} failed with exit code ${result.code}:\n` +
          result.output.trim(),
      );
    }
  }

  /**
   * Takes over a command that leash-launch started in the sandbox and holds before its real
   * command: its seccomp listener goes to the change guard of `principal` (the agent when
   * unset), and for a further principal the launcher first moves into that principal's
   * cgroup. `sandboxPid` and `fd` are what the launcher printed; gives the launcher's host pid.
   */
  superviseLaunch(sandboxPid: number, fd: number, principal = this.principal): number {
    if (!this.changeGuard || !this.container) {
      throw new Error(`session ${this.name} is not enforcing`);
    }
    const hostPid = launcherHostPid(this.container.pid, sandboxPid);
    // A process sandbox's commands start outside its cgroup, so that nothing before the
    // launcher is judged as the session's: the agent's enters it here.
    if (principal === this.principal && this.runtime instanceof ProcessRuntime) {
      this.runtime.place(this.container.id, hostPid);
    }
    const listener = takeSeccompListener(hostPid, fd);
    if (principal === this.principal) {
      this.changeGuard.addListener(listener);
      return hostPid;
    }
    const other = this.others.get(principal);
    if (!other) throw new Error(`session ${this.name} has no principal ${principal}`);
    other.enter(hostPid, listener);
    return hostPid;
  }

  /**
   * Makes `principal` a principal of this session (nothing when it already is one): its
   * cgroup leaf and guards, enforcing the session's policy for `Agent::"<principal>"`.
   */
  addPrincipal(principal: string): void {
    if (principal === this.principal || this.others.has(principal)) return;
    if (this.state !== 'running' || !this.container || !this.fileGuard) {
      throw new Error(`session ${this.name} is not running`);
    }
    checkPrincipalName(principal);
    const compiled = compileFor(
      { ...this.spec, policyText: this.policyText, policyOrigin: this.policyOrigin },
      [principal],
    );
    const rules = compiled.others.get(principal) as PrincipalIR;
    const guards = PrincipalGuards.create(
      {
        session: this.name,
        mode: () => this.mode,
        onDenial: () => void this.denials++,
        onNet: (p, e) => this.onNet(p, e),
        onChange: (p, e) => this.onChange(p, e),
      },
      principal,
      this.container.cgroupPath,
      rules,
      this.always,
      this.audit,
      this.log.child({ principal }),
    );
    try {
      const files = enforcedRules(this.mode, rules, this.always).files;
      this.fileGuard.addPrincipal({
        cgroupPath: guards.cgroupPath,
        rules: files,
        execGuard: guards.execGuard,
      });
      if (this.lsmGuard) {
        const exec = enforcedExecRules(this.mode, rules, this.always);
        const options = lsmOptions(this.mode);
        const slot = this.lsmGuard.addPrincipal(guards.cgroupPath, files, exec, options);
        this.lsmSlots.set(slot, guards);
      }
      this.connectGuard?.delegate(guards.cgroupPath);
    } catch (err) {
      guards.close();
      throw err;
    }
    this.others.set(principal, guards);
    this.record('session', 'Principal', principal, { cgroup: guards.cgroup });
  }

  /** Validates and compiles aside, then swaps at every layer; a bad policy changes nothing. */
  applyPolicy(text: string, origin: string): { oldHash: string; newHash: string } {
    const compiled = compileFor({ ...this.spec, policyText: text, policyOrigin: origin }, [
      ...this.others.keys(),
    ]);
    const oldHash = this.ir.hash;
    this.enforce(this.mode, compiled.principal, compiled.always, compiled.others);
    this.ir = compiled.ir;
    this.rules = compiled.principal;
    this.always = compiled.always;
    this.policyText = text;
    this.policyOrigin = origin;
    this.egress?.redirect().catch((err: Error) => {
      this.log.error('could not redirect the ports of the new policy', { error: err.message });
    });
    this.mcpBridge?.applyPolicy(text, origin);
    this.record('policy', 'Reload', origin, { old: oldHash, new: compiled.ir.hash });
    return { oldHash, newHash: compiled.ir.hash };
  }

  /** applyPolicy for callers that report rather than throw: a policy that does not validate
   *  gives `applied: false` and its diagnostics; any other failure still throws. */
  tryApplyPolicy(
    text: string,
    origin: string,
  ): { applied: boolean; oldHash: string; newHash: string; diagnostics: string[] } {
    try {
      return { applied: true, ...this.applyPolicy(text, origin), diagnostics: [] };
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      return { applied: false, oldHash: this.ir.hash, newHash: '', diagnostics: err.diagnostics };
    }
  }

  /** Notes in the audit log that a new policy was refused and the running one stayed. */
  recordRefusedPolicy(origin: string, hash: string, diagnostics: string[]): void {
    this.record('policy', 'Refused', origin, { running: this.ir.hash, refused: hash, diagnostics });
  }

  /** Switches the mode at every layer at once; the change is an audit event. */
  setMode(mode: Mode): void {
    if (mode === this.mode) return;
    const old = this.mode;
    const theirs = new Map([...this.others].map(([name, g]) => [name, g.rules]));
    this.enforce(mode, this.rules, this.always, theirs);
    this.mode = mode;
    this.mcpBridge?.setMode(mode);
    this.record('session', 'Mode', this.name, { old, new: mode });
  }

  /** Swaps every guard's rules; `others` holds the further principals' new rules. */
  private enforce(
    mode: Mode,
    rules: PrincipalIR,
    always: Set<string>,
    others: Map<string, PrincipalIR>,
  ): void {
    const enforced = enforcedRules(mode, rules, always);
    const exec = enforcedExecRules(mode, rules, always);
    this.connectGuard?.update(enforced.connects);
    this.exec?.update(exec, mode);
    // Each further principal's new rules, and the file rules its guards enforce in `mode`.
    const theirs = new Map(
      [...this.others.values()].map((g) => {
        const own = others.get(g.name) ?? g.rules;
        return [g, { rules: own, files: enforcedRules(mode, own, always).files }] as const;
      }),
    );
    this.fileGuard?.update(enforced.files, {
      caching: enforced.caching,
      principals: [...theirs].map(([g, t]) => ({ cgroupPath: g.cgroupPath, rules: t.files })),
    });
    if (this.lsmGuard) {
      const options = lsmOptions(mode);
      this.lsmGuard.update(enforced.files, exec, options);
      for (const [slot, g] of this.lsmSlots) {
        const t = theirs.get(g);
        if (t)
          this.lsmGuard.update(t.files, enforcedExecRules(mode, t.rules, always), options, slot);
      }
    }
    this.changeGuard?.update(enforced.files);
    for (const [g, t] of theirs) g.enforce(mode, t.rules, always);
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
    await this.mcpBridge?.close();
    this.egress?.detach();
    this.losses?.stop();
    this.fileGuard?.close();
    this.lsmGuard?.close();
    this.changeGuard?.close();
    this.connectGuard?.close();
    this.exec?.close();
    for (const g of this.others.values()) g.close();
    this.keeper?.stop();
    this.record('session', 'Stop', this.name, { reason });
    this.audit.flush();
    this.log.info('session stopped', { reason });
    for (const l of this.stopListeners) l();
  }

  /** The logged decision: the kernel's, or in shadow and record mode, what the policy says
   *  of an open the kernel let through (`would-deny`). */
  private decisionOf(kernel: 'allow' | 'deny', policy: 'allow' | 'deny'): EventDecision {
    if (this.mode === 'enforce') {
      if (kernel !== policy) {
        this.log.error('kernel and policy disagree', { kernel, policy });
      }
      return kernel;
    }
    return kernel === 'allow' && policy === 'deny' ? 'would-deny' : kernel;
  }

  /** The principal a file event's opener belongs to, by its cgroup. */
  private openerOf(e: FileEvent): { name: string; rules: PrincipalIR; exec?: ExecEnforcer } {
    for (const g of this.others.values()) {
      if (e.cgroup !== undefined && g.cgroup === e.cgroup) {
        return { name: g.name, rules: g.rules, exec: g.execEnforcer };
      }
    }
    return { name: this.principal, rules: this.rules, ...(this.exec ? { exec: this.exec } : {}) };
  }

  private onFile(e: FileEvent): void {
    const opener = this.openerOf(e);
    if (e.access === 'exec') return opener.exec?.onProgram(e);
    const accesses: FileAccess[] =
      e.access === 'readwrite' ? ['read', 'write'] : [e.access as FileAccess];
    const verdicts = accesses.map((a) => ({
      access: a,
      verdict: decideFile(opener.rules, e.path, a),
    }));
    const denied = verdicts.filter((v) => v.verdict.decision === 'deny');
    const decision = this.decisionOf(e.decision, denied.length > 0 ? 'deny' : 'allow');
    const deciding = denied.length > 0 ? denied : verdicts;
    const event = {
      session: this.name,
      principal: opener.name,
      kind: 'file' as const,
      action: deciding.some((v) => v.access === 'write') ? 'WriteFile' : 'ReadFile',
      resource: e.path,
      decision,
      policies: union(deciding.map((v) => v.verdict)),
      count: 1,
      pid: e.pid,
      comm: e.comm,
      details: { path: e.path, access: e.access },
    };
    if (decision === 'deny') this.denials++;
    // Allowed opens are counted, not repeated, except in record mode, which keeps each one.
    if (decision === 'allow' && this.mode !== 'record') {
      this.audit.countAllowed(`${this.name}\0${opener.name}\0${e.access}\0${e.path}`, event);
    } else {
      this.audit.push({ ...event, time: nowRfc3339Nano() });
    }
  }

  /** A change that is not an open: `WriteFile` on each path it changes (both for rename). */
  private onChange(principal: string, e: ChangeEvent): void {
    const rules = this.rulesOf(principal);
    // Moving or removing a name (or placing a symlink) also needs what lies below it.
    const carries = changesBelow(e.op);
    const judged = [e.path, ...(e.to === undefined ? [] : [e.to])].map((p) => {
      const verdict = decideFile(rules, p, 'write');
      const below = carries ? forbidsBelow(rules.files, p).map((r) => r.id) : [];
      const deny = verdict.decision === 'deny' || below.length > 0;
      const policies = verdict.decision === 'deny' ? [...verdict.policies, ...below] : below;
      return { path: p, deny, policies: deny ? policies : verdict.policies };
    });
    const refusing = judged.filter((j) => j.deny);
    const decision = this.decisionOf(e.decision, refusing.length > 0 ? 'deny' : 'allow');
    const deciding = refusing.length > 0 ? refusing : judged;
    const details: Record<string, unknown> = { path: e.path, access: 'write', op: e.op };
    if (e.to !== undefined) details.to = e.to;
    const event = {
      session: this.name,
      principal,
      kind: 'file' as const,
      action: 'WriteFile',
      resource: e.denied ?? deciding[0]?.path ?? e.path,
      decision,
      policies: [...new Set(deciding.flatMap((j) => j.policies))].sort(),
      count: 1,
      pid: e.pid,
      comm: e.comm,
      details,
    };
    if (decision === 'deny') this.denials++;
    if (decision === 'allow' && this.mode !== 'record') {
      const key = [this.name, principal, e.op, e.path, e.to ?? ''].join('\0');
      this.audit.countAllowed(key, event);
    } else {
      this.audit.push({ ...event, time: nowRfc3339Nano() });
    }
  }

  /** Every guard's loss counters, for the audit log's loss records. */
  private lossSources(): LossSource[] {
    const principal = this.principal;
    const own: [string, { stats(): { lost?: number; dropped: number } } | undefined][] = [
      ['file-guard', this.fileGuard],
      ['lsm-guard', this.lsmGuard],
      ['change-guard', this.changeGuard],
      ['connect-guard', this.connectGuard],
      ['exec-guard', this.exec?.guard],
    ];
    const sources: LossSource[] = [];
    for (const [name, guard] of own) {
      if (guard)
        sources.push({ name: `${name}/${principal}`, principal, stats: () => guard.stats() });
    }
    for (const g of this.others.values()) sources.push(...g.lossSources());
    return sources;
  }

  /** The rules of one of the session's principals. */
  private rulesOf(principal: string): PrincipalIR {
    return this.others.get(principal)?.rules ?? this.rules;
  }

  private onNet(principal: string, e: NetEvent): void {
    const verdict = decideConnect(this.rulesOf(principal), e.ip, e.port);
    const decision = this.decisionOf(e.decision, verdict.decision);
    if (decision === 'deny') this.denials++;
    const resource = e.family === 6 ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
    this.audit.push({
      time: nowRfc3339Nano(),
      session: this.name,
      principal,
      kind: 'net',
      action: 'Connect',
      resource,
      decision,
      policies: verdict.policies,
      count: 1,
      pid: e.pid,
      comm: e.comm,
      details: { ip: e.ip, port: e.port, protocol: e.protocol, hosts: this.egress?.namesOf(e.ip) },
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

/**
 * The host pid of the process that is `sandboxPid` in the sandbox whose init is `initPid`:
 * the one in the init's PID namespace whose innermost pid (NSpid) matches and which runs
 * the launcher.
 */
function launcherHostPid(initPid: number, sandboxPid: number): number {
  const ns = fs.readlinkSync(`/proc/${initPid}/ns/pid`);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      if (fs.readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // the process ended while we looked
    }
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (nspid?.[nspid.length - 1] !== String(sandboxPid)) continue;
    if (fs.readlinkSync(`/proc/${entry}/exe`) !== LAUNCHER_IN_SANDBOX) {
      throw new Error(`process ${sandboxPid} of the sandbox is not leash-launch`);
    }
    return Number(entry);
  }
  throw new Error(`no process ${sandboxPid} in the sandbox of init ${initPid}`);
}

function union(verdicts: Verdict[]): string[] {
  return [...new Set(verdicts.flatMap((v) => v.policies))].sort();
}
