/**
 * The sandbox's seccomp profile. It replaces Docker's default profile, so it keeps what
 * matters of it for a sandbox without capabilities (no new namespaces, no mounts, no kernel
 * keyring, no BPF, no module or clock changes) and adds what Leash needs: only the inet,
 * inet6, unix and netlink socket families (no vsock, no packet, ...). New namespaces matter
 * most: a copied mount namespace would carry mounts that file enforcement does not watch.
 */

const EPERM = 1;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
/** One past the largest address family Linux knows (AF_MCTP is 45). */
const AF_MAX = 46;
const ALLOWED_FAMILIES = new Set([AF_UNIX, AF_INET, AF_INET6, AF_NETLINK]);

/** Flags of clone(2) that create namespaces (CLONE_NEWNS ... CLONE_NEWNET, CLONE_NEWCGROUP). */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

const DENIED = [
  'unshare',
  'setns',
  'mount',
  'umount',
  'umount2',
  'pivot_root',
  'chroot',
  'move_mount',
  'open_tree',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'open_by_handle_at',
  'name_to_handle_at',
  'fanotify_init',
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'keyctl',
  'add_key',
  'request_key',
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
  'iopl',
  'ioperm',
  'swapon',
  'swapoff',
  'reboot',
  'acct',
  'quotactl',
  'quotactl_fd',
  'lookup_dcookie',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
  'syslog',
  'vhangup',
  'nfsservctl',
  'create_module',
  'get_kernel_syms',
  'query_module',
  'uselib',
  'ustat',
  'sysfs',
  '_sysctl',
  'socketcall',
  // io_uring opens files without a syscall file answers can be read from.
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  // A new name for a file would let a verdict depend on the name (docs/limitations.md).
  'link',
  'linkat',
  // Tracing another sandbox process (the init holding the lifeline, for one), reading or
  // writing its memory, or copying its descriptors (another principal's open secret).
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'pidfd_getfd',
];

interface Rule {
  names: string[];
  action: 'SCMP_ACT_ERRNO';
  errnoRet: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export function sandboxSeccompProfile(): object {
  const rules: Rule[] = [{ names: DENIED, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];

  // clone3 passes its flags in memory seccomp cannot read: make libc fall back to clone.
  rules.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  // clone with any namespace flag, one rule per flag: (flags & flag) == flag.
  for (let bit = 0; bit < 32; bit++) {
    const flag = 2 ** bit;
    if ((CLONE_NAMESPACE_FLAGS & flag) === 0) continue;
    rules.push({
      names: ['clone'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
    });
  }

  for (let family = 0; family < AF_MAX; family++) {
    if (ALLOWED_FAMILIES.has(family)) continue;
    rules.push({
      names: ['socket', 'socketpair'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EAFNOSUPPORT,
      args: [{ index: 0, value: family, op: 'SCMP_CMP_EQ' }],
    });
  }
  rules.push({
    names: ['socket', 'socketpair'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: EAFNOSUPPORT,
    args: [{ index: 0, value: AF_MAX, op: 'SCMP_CMP_GE' }],
  });

  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    // Only the native ABI: a 32-bit syscall would be judged by the wrong syscall numbers, so
    // any other ABI kills the caller.
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: rules,
  };
}
