/* The probe of the lsm backend: denies one file's opens to one process, so the prober can see
 * whether a BPF LSM denial takes effect here (a program can load and attach yet block nothing
 * when `bpf` is not an active LSM). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
const volatile __u64 target_ino = 0;

SEC("lsm/file_open")
int BPF_PROG(leash_probe_open, struct file *file)
{
	if (bpf_get_current_pid_tgid() >> 32 != target_tgid || file->f_inode->i_ino != target_ino)
		return 0;
	return -1; /* -EPERM */
}
