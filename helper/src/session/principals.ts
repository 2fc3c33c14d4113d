/**
 * The further principals of a session (`leash exec --principal P`): each lives in its own
 * cgroup v2 leaf below the sandbox's, entered by leashd before its command starts, with its
 * own exec program, connect programs and change supervisor on that leaf, and its own rules in
 * the session's fanotify answerer, which knows it by the opener's cgroup. The sandbox's own
 * cgroup stays the session agent's.
 */
import type { PrincipalIR } from '@leash/policies';
import {
  ChangeGuard,
  cgroupName,
  ConnectGuard,
  connectPinDir,
  type ChangeEvent,
  type ExecGuard,
  type NetEvent,
} from '@leash/bpf';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditWriter } from '../audit/writer';
import type { Logger } from '../log';
import { enforcedExecRules, ExecEnforcer } from './exec-enforcer';
import { enforcedRules, type Mode } from './modes';
import type { LossSource } from './loss-watch';

/** A principal name `leash exec --principal` accepts (Cedar's `Leash::Agent::"NAME"`). */
const PRINCIPAL_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;

export function checkPrincipalName(name: string): void {
  if (!PRINCIPAL_RE.test(name)) {
    throw new Error(
      `principal name ${JSON.stringify(name)} is not valid: use letters, digits, . _ : - ` +
        '(up to 63 characters, starting with a letter or digit)',
    );
  }
  if (name.startsWith('mcp:')) {
    throw new Error(
      `principal name ${name} is reserved: mcp:<server> is a governed MCP server's principal, ` +
        'which runs in a sandbox of its own; choose another name',
    );
  }
}

/** The leaf of `principal` below the sandbox's cgroup directory. */
export function principalCgroup(sandboxCgroup: string, principal: string): string {
  return path.join(sandboxCgroup, `leash-principal.${principal}`);
}

/** What a principal's guards report to and read from its session. */
export interface PrincipalView {
  session: string;
  mode(): Mode;
  onDenial(): void;
  onNet(principal: string, e: NetEvent): void;
  onChange(principal: string, e: ChangeEvent): void;
}

export class PrincipalGuards {
  readonly cgroup: string;
  private readonly exec: ExecEnforcer;
  private readonly connect: ConnectGuard;
  private readonly change: ChangeGuard;

  private constructor(
    readonly name: string,
    readonly cgroupPath: string,
    private current: PrincipalIR,
    parts: { exec: ExecEnforcer; connect: ConnectGuard; change: ChangeGuard },
  ) {
    this.cgroup = cgroupName(cgroupPath);
    this.exec = parts.exec;
    this.connect = parts.connect;
    this.change = parts.change;
  }

  /** This principal's guards' loss counters. */
  lossSources(): LossSource[] {
    const principal = this.name;
    return [
      { name: `exec-guard/${principal}`, principal, stats: () => this.exec.guard.stats() },
      { name: `connect-guard/${principal}`, principal, stats: () => this.connect.stats() },
      { name: `change-guard/${principal}`, principal, stats: () => this.change.stats() },
    ];
  }

  /**
   * Makes the principal's leaf and attaches its guards to it, enforcing `rules` in `mode`.
   * No task is in the leaf yet; on failure nothing is left attached and the leaf is gone.
   */
  static create(
    view: PrincipalView,
    name: string,
    sandboxCgroup: string,
    rules: PrincipalIR,
    always: Set<string>,
    audit: AuditWriter,
    log: Logger,
  ): PrincipalGuards {
    checkPrincipalName(name);
    const leaf = principalCgroup(sandboxCgroup, name);
    fs.mkdirSync(leaf);
    const mode = view.mode();
    const enforced = enforcedRules(mode, rules, always);
    const opened: { close(): void }[] = [];
    try {
      const exec = new ExecEnforcer(
        {
          name: view.session,
          principal: name,
          mode: view.mode,
          rules: () => guards.rules,
          onDenial: view.onDenial,
        },
        leaf,
        enforcedExecRules(mode, rules, always),
        audit,
        log,
      );
      opened.push(exec);
      const connect = new ConnectGuard({
        cgroupPath: leaf,
        rules: enforced.connects,
        onEvent: (e) => view.onNet(name, e),
        pinDir: connectPinDir(view.session, name),
      });
      opened.push(connect);
      const change = new ChangeGuard({
        rules: enforced.files,
        onEvent: (e) => view.onChange(name, e),
      });
      opened.push(change);
      const guards: PrincipalGuards = new PrincipalGuards(name, leaf, rules, {
        exec,
        connect,
        change,
      });
      return guards;
    } catch (err) {
      for (const g of opened.reverse()) g.close();
      fs.rmdirSync(leaf);
      throw err;
    }
  }

  get rules(): PrincipalIR {
    return this.current;
  }

  /** Reports the program verdicts the file answerer made for this principal. */
  get execEnforcer(): ExecEnforcer {
    return this.exec;
  }

  /** The exec guard, for the session's file answerer to record this principal's programs. */
  get execGuard(): ExecGuard {
    return this.exec.guard;
  }

  /** Moves a launcher (host pid), and so the command it is about to run, into the leaf, and
   *  supervises its changes. */
  enter(hostPid: number, listenerFd: number): void {
    try {
      fs.writeFileSync(path.join(this.cgroupPath, 'cgroup.procs'), String(hostPid));
    } catch (err) {
      fs.closeSync(listenerFd);
      throw new Error(
        `could not move process ${hostPid} into ${this.cgroupPath}: ${(err as Error).message}`,
      );
    }
    this.change.addListener(listenerFd);
  }

  /** Swaps the rules of every guard but the file answerer, which the session swaps whole. */
  enforce(mode: Mode, rules: PrincipalIR, always: Set<string>): void {
    const enforced = enforcedRules(mode, rules, always);
    this.connect.update(enforced.connects);
    this.exec.update(enforcedExecRules(mode, rules, always), mode);
    this.change.update(enforced.files);
    this.current = rules;
  }

  close(): void {
    this.change.close();
    this.connect.close();
    this.exec.close();
  }
}
