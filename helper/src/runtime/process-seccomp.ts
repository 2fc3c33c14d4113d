/**
 * The containers' seccomp profile (seccomp.ts) compiled to a classic BPF program, for process
 * sandboxes, where no container engine applies it: leash-launch installs it (`--filter-fd`)
 * before its own filter. Without it an unprivileged user could create a user namespace and
 * with it a copy of every mount, which file enforcement does not watch, or a hard link that
 * gives a protected file another name.
 */
import { sandboxSeccompProfile } from './seccomp';

/** x86_64 numbers of the calls the profile names (asm/unistd_64.h). A name missing here
 *  does not exist on x86_64 (umount, socketcall), as libseccomp also ignores it. */
const X86_64: Record<string, number> = {
  unshare: 272,
  setns: 308,
  mount: 165,
  umount2: 166,
  pivot_root: 155,
  chroot: 161,
  move_mount: 429,
  open_tree: 428,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  open_by_handle_at: 304,
  name_to_handle_at: 303,
  fanotify_init: 300,
  bpf: 321,
  perf_event_open: 298,
  userfaultfd: 323,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  kexec_load: 246,
  kexec_file_load: 320,
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  iopl: 172,
  ioperm: 173,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  acct: 163,
  quotactl: 179,
  quotactl_fd: 443,
  lookup_dcookie: 212,
  settimeofday: 164,
  clock_settime: 227,
  clock_adjtime: 305,
  adjtimex: 159,
  syslog: 103,
  vhangup: 153,
  nfsservctl: 180,
  create_module: 174,
  get_kernel_syms: 177,
  query_module: 178,
  uselib: 134,
  ustat: 136,
  sysfs: 139,
  _sysctl: 156,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  link: 86,
  linkat: 265,
  ptrace: 101,
  process_vm_readv: 310,
  process_vm_writev: 311,
  pidfd_getfd: 438,
  clone: 56,
  clone3: 435,
  socket: 41,
  socketpair: 53,
};
const NOT_ON_X86_64 = new Set(['umount', 'socketcall']);

/* Classic BPF opcodes and seccomp constants (linux/filter.h, linux/seccomp.h, linux/audit.h). */
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const RET_ALLOW = 0x7fff0000;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** The low 32 bits of argument i on a little-endian machine: what the kernel reads for an
 *  int, and all the clone flags there are. */
const offsetArg = (i: number): number => 16 + 8 * i;

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

interface ProfileRule {
  names: string[];
  action: string;
  errnoRet: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k });
const jump = (code: number, k: number, jt: number, jf: number): Insn => ({ code, jt, jf, k });

/** The test of one argument condition: jumps to the next instruction when it holds, else
 *  skips one. */
function condition(arg: NonNullable<ProfileRule['args']>[number]): Insn[] {
  const load = stmt(LD_W_ABS, offsetArg(arg.index));
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      return [load, jump(JEQ_K, arg.value, 0, 1)];
    case 'SCMP_CMP_GE':
      return [load, jump(JGE_K, arg.value, 0, 1)];
    case 'SCMP_CMP_MASKED_EQ':
      // (a & mask) == mask for a single-bit mask: JSET.
      if (arg.value !== arg.valueTwo || (arg.value & (arg.value - 1)) !== 0) {
        throw new Error(`seccomp profile: MASKED_EQ is compiled for single-bit masks only`);
      }
      return [load, jump(JSET_K, arg.value, 0, 1)];
    default:
      throw new Error(
        `seccomp profile: comparison ${arg.op} is not compiled for process sandboxes`,
      );
  }
}

/** The profile as a classic BPF program for x86_64, in the kernel's `sock_filter` layout. */
export function processSeccompFilter(): Buffer {
  if (process.arch !== 'x64') {
    throw new Error(`process sandboxes need the seccomp profile, compiled for x86_64 only`);
  }
  const profile = sandboxSeccompProfile() as { syscalls: ProfileRule[] };
  const bySyscall = new Map<number, ProfileRule[]>();
  for (const rule of profile.syscalls) {
    if (rule.action !== 'SCMP_ACT_ERRNO') throw new Error(`seccomp profile: ${rule.action}`);
    if ((rule.args ?? []).length > 1) throw new Error('seccomp profile: one condition per rule');
    for (const name of rule.names) {
      const nr = X86_64[name];
      if (nr === undefined) {
        if (NOT_ON_X86_64.has(name)) continue;
        throw new Error(`seccomp profile: no x86_64 number known for ${name}`);
      }
      bySyscall.set(nr, [...(bySyscall.get(nr) ?? []), rule]);
    }
  }

  // Another ABI (32-bit, x32) would be judged by the wrong numbers: it kills the caller.
  const prog: Insn[] = [
    stmt(LD_W_ABS, OFFSET_ARCH),
    jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
    stmt(RET_K, RET_KILL_PROCESS),
    stmt(LD_W_ABS, OFFSET_NR),
    jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
    stmt(RET_K, RET_KILL_PROCESS),
  ];
  for (const [nr, rules] of bySyscall) {
    // A call's block ends in ALLOW, as no other block can match it.
    const block: Insn[] = [];
    for (const rule of rules) {
      const [arg] = rule.args ?? [];
      if (arg) block.push(...condition(arg));
      block.push(stmt(RET_K, RET_ERRNO | rule.errnoRet));
    }
    if (rules.some((r) => (r.args ?? []).length > 0)) block.push(stmt(RET_K, RET_ALLOW));
    if (block.length > 255)
      throw new Error(`seccomp profile: the rules of call ${nr} are too many`);
    prog.push(jump(JEQ_K, nr, 0, block.length), ...block);
    // Blocks that load an argument end in a return, so the number is still loaded after one.
  }
  prog.push(stmt(RET_K, RET_ALLOW));

  const out = Buffer.alloc(prog.length * 8);
  prog.forEach((insn, i) => {
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(insn.jt, i * 8 + 2);
    out.writeUInt8(insn.jf, i * 8 + 3);
    out.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return out;
}
