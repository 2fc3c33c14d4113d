/**
 * A session's file and program judge on the lsm backend: one LsmGuard on the sandbox's cgroup,
 * its hooks pinned so they keep judging if leashd dies, its events turned into the portable
 * guards' events so the session logs them the same way. Opens and changes by path never wait
 * for leashd; the fanotify group the session keeps marks execs only (the argv check needs the
 * program records its answerer makes, docs/lsm.md).
 */
import type { ExecRule, FileRule } from '@leash/policies';
import {
  LsmGuard,
  lsmPinDir,
  type LsmOptions,
  type ChangeEvent,
  type ChangeOp,
  type FileEvent,
  type LsmAccess,
  type LsmEvent,
} from '@leash/bpf';
import type { Mode } from './modes';

/** The change an LSM hook judged, as the change guard names it. */
const CHANGE_OPS: Partial<Record<LsmAccess, ChangeOp>> = {
  create: 'create',
  unlink: 'unlink',
  rmdir: 'rmdir',
  rename: 'rename',
  link: 'link',
  truncate: 'truncate',
};

export interface LsmFilesView {
  session: string;
  principal: string;
  cgroupPath: string;
  /** `slot`: the rule slot that judged it, 0 for the agent (LsmGuard.addPrincipal). */
  onFile(e: FileEvent, slot: number): void;
  onChange(e: ChangeEvent, slot: number): void;
}

/**
 * Starts the guard. `files` and `exec` are the rules the kernel enforces in `mode` (modes.ts,
 * exec-enforcer.ts); outside enforce mode allowed accesses are reported too, so the session
 * can log what the policy would have denied. Further principals join with
 * `guard.addPrincipal(…, lsmOptions(mode))`, each in a slot of its own.
 */
export function startLsmFiles(
  view: LsmFilesView,
  files: FileRule[],
  exec: ExecRule[],
  mode: Mode,
): LsmGuard {
  const pinDir = lsmPinDir(view.session, view.principal);
  return new LsmGuard({
    cgroupPath: view.cgroupPath,
    rules: files,
    execRules: exec,
    onEvent: (e) => deliver(view, e),
    ...lsmOptions(mode),
    ...(pinDir === undefined ? {} : { pinDir }),
  });
}

/** The guard's options for a session in `mode` (for `update` and `addPrincipal` too): outside
 *  enforce mode allowed accesses are reported as well. */
export function lsmOptions(mode: Mode): LsmOptions {
  return { reportAllowed: mode !== 'enforce' };
}

function deliver(view: LsmFilesView, e: LsmEvent): void {
  // The guard enforces the mode's rules; what the full policy says is the session's to judge.
  const decision = e.decision === 'deny' ? 'deny' : 'allow';
  const op = CHANGE_OPS[e.access];
  if (op === undefined) {
    const access = e.access as FileEvent['access'];
    view.onFile({ path: e.path, access, decision, pid: e.pid, comm: e.comm }, e.slot);
    return;
  }
  view.onChange(
    {
      op,
      path: e.path,
      decision,
      ...(decision === 'deny' ? { denied: e.path } : {}),
      pid: e.pid,
      comm: e.comm,
    },
    e.slot,
  );
}
