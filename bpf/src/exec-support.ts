/** For the exec tests: a program runner in its own mount namespace and cgroup, guarded. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExecRule, FileRule } from '@leash/policies/dist/ir';
import { ExecGuard, type ExecEvent } from './exec-guard';
import { FileGuard, type FileEvent } from './index';
import { JsonChild } from './kernel-test-support';

export interface RunOutcome {
  ok: boolean;
  /** The spawn error (EPERM when the program's path was refused). */
  code?: string;
  status?: number | null;
  /** SIGKILL when the kernel killed the program at exec for its argv. */
  signal?: string | null;
  stdout?: string;
}

/** Every file readable and writable: these tests are about exec only. */
export const ALL_FILES: FileRule[] = [
  {
    id: 'files',
    effect: 'permit',
    access: ['read', 'write'],
    match: [{ kind: 'prefix', value: '/' }],
  },
];

export const LOADER = '/lib64/ld-linux-x86-64.so.2';

export class ExecBed {
  readonly fileEvents: FileEvent[] = [];
  readonly execEvents: ExecEvent[] = [];
  execGuard?: ExecGuard;
  fileGuard?: FileGuard;

  private constructor(
    readonly dir: string,
    private readonly base: string,
    private readonly cgroup: string,
    private readonly child: JsonChild,
  ) {}

  /** Starts the runner (programs under `dir/bin`, `dir/denied`, `dir/scripts`) and guards it. */
  static async start(
    rules: (dir: string) => ExecRule[],
    trusted: (dir: string) => string[] = () => [],
  ): Promise<ExecBed> {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-exec-'));
    const dir = path.join(base, 'mnt');
    fs.mkdirSync(dir);
    const cgroup = `/sys/fs/cgroup/unified/leash-exec-${crypto.randomBytes(4).toString('hex')}`;
    fs.mkdirSync(cgroup);
    const script = path.join(__dirname, 'fixtures', 'execer.js');
    const enter = `echo $$ > ${cgroup}/cgroup.procs && exec "$0" "$@"`;
    const child = new JsonChild('unshare', [
      ...['--mount', '--propagation', 'private', 'sh', '-c', enter],
      ...[process.execPath, script, dir],
    ]);
    const bed = new ExecBed(dir, base, cgroup, child);
    try {
      const { pid } = await child.next<{ pid: number }>();
      bed.execGuard = new ExecGuard({
        cgroupPath: cgroup,
        rules: rules(dir),
        onEvent: (e) => bed.execEvents.push(e),
        trustedPrograms: trusted(dir),
      });
      // Where /usr is a mount of its own (the test VM's 9p share), its programs, interpreters
      // and the loader are judged only if that mount is marked too.
      const usr = fs.statSync('/usr').dev === fs.statSync('/').dev ? [] : ['/usr'];
      bed.fileGuard = new FileGuard({
        mountPoints: [`/proc/${pid}/root`, `/proc/${pid}/root${dir}`].concat(
          usr.map((p) => `/proc/${pid}/root${p}`),
        ),
        rules: ALL_FILES,
        onEvent: (e) => bed.fileEvents.push(e),
        execGuard: bed.execGuard,
      });
    } catch (err) {
      await bed.stop();
      throw err;
    }
    return bed;
  }

  run(command: string[], argv0?: string): Promise<RunOutcome> {
    return this.child.ask<RunOutcome>({ command, argv0 });
  }

  async stop(): Promise<void> {
    this.fileGuard?.close();
    this.execGuard?.close();
    await this.child.stop();
    fs.rmSync(this.base, { recursive: true, force: true });
    fs.rmdirSync(this.cgroup);
  }
}
