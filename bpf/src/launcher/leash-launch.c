/*
 * leash-launch: starts a session command under Leash's change filter.
 *
 *   leash-launch [--filter-fd N] -- CMD [ARG...]
 *
 * With --filter-fd it first reads a classic BPF seccomp program (struct sock_filter[]) from
 * descriptor N until end of file and installs it: the sandbox's profile, for runtimes that have
 * no container engine to apply it.
 *
 * It installs a seccomp filter that hands the calls fanotify cannot see (rename, unlink,
 * rmdir, truncate by path, mkdir, mknod, symlink) to a supervisor in leashd, prints
 * `leash-launch ready <pid> <listener-fd>` on stderr, and waits for one byte on stdin: the
 * go-ahead, sent once leashd holds a copy of the listener (and, later, once it has placed
 * this process in its principal's cgroup). End of input instead aborts with status 126.
 * It then closes its own copy of the listener and execs CMD, which inherits the filter.
 *
 * Built static, so it runs in any sandbox image. It trusts nothing it is given: leashd finds
 * it by the pid it prints and checks that the descriptor is a seccomp listener.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#if defined(__x86_64__)
#define LEASH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LEASH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "leash-launch knows the syscall table of x86_64 and aarch64 only"
#endif

#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define LEASH_WAIT_KILLABLE_RECV SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#else
#define LEASH_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define EXIT_ABORTED 126
#define EXIT_NOT_RUN 127

/* The calls the supervisor performs itself; aarch64 has only the *at forms. */
static const int watched[] = {
#ifdef __NR_rename
	__NR_rename,
#endif
	__NR_renameat, __NR_renameat2,
#ifdef __NR_unlink
	__NR_unlink,
#endif
	__NR_unlinkat,
#ifdef __NR_rmdir
	__NR_rmdir,
#endif
	__NR_truncate,
#ifdef __NR_mkdir
	__NR_mkdir,
#endif
	__NR_mkdirat,
#ifdef __NR_mknod
	__NR_mknod,
#endif
	__NR_mknodat,
#ifdef __NR_symlink
	__NR_symlink,
#endif
	__NR_symlinkat,
	/* Metadata changes, all forms; the newest calls by the numbers every architecture shares. */
#ifdef __NR_chmod
	__NR_chmod, __NR_chown, __NR_lchown,
#endif
	__NR_fchmod, __NR_fchmodat, 452 /* fchmodat2 */, __NR_fchown, __NR_fchownat,
	__NR_setxattr, __NR_lsetxattr, __NR_fsetxattr, 463 /* setxattrat */,
	__NR_removexattr, __NR_lremovexattr, __NR_fremovexattr, 466 /* removexattrat */,
#ifdef __NR_utime
	__NR_utime, __NR_utimes, __NR_futimesat,
#endif
	__NR_utimensat,
	/* file_setattr sets inode flags the supervisor does not judge: refused (ENOSYS). */
	469,
};

#define NWATCHED (sizeof watched / sizeof watched[0])

/* The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
#define MAX_PROFILE_INSNS 4096

/* Reads the profile from fd and installs it; 0 on success, else -1 with a message printed. */
static int install_profile(int fd)
{
	static struct sock_filter insns[MAX_PROFILE_INSNS + 1];
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, (char *)insns + got, sizeof insns - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "leash-launch: reading the profile: %s\n", strerror(errno));
			return -1;
		}
		got += (size_t)n;
		if (got == sizeof insns)
			break;
	}
	close(fd);
	if (got == 0 || got % sizeof insns[0] != 0 || got > MAX_PROFILE_INSNS * sizeof insns[0]) {
		fprintf(stderr, "leash-launch: the profile is not a seccomp program (%zu bytes)\n",
			got);
		return -1;
	}
	struct sock_fprog prog = { .len = (unsigned short)(got / sizeof insns[0]), .filter = insns };
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		fprintf(stderr, "leash-launch: installing the profile: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int install_filter(void)
{
	struct sock_filter f[128];
	unsigned int n = 0, i;

	/* Another ABI would use other numbers: refuse it (the runtime's profile kills it anyway). */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					       offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LEASH_AUDIT_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					       offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 calls share the arch value but not the numbers. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
#endif
	for (i = 0; i < NWATCHED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned int)watched[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	}
	/*
	 * A newer filter that also notifies would take these calls first, and its listener
	 * could let them through: nobody below this filter may create a listener.
	 */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 3);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					       offsetof(struct seccomp_data, args[1]));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
					      SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	/*
	 * Once the supervisor has read a call, only a fatal signal may interrupt the wait: a
	 * restarted call would repeat a change the supervisor already made (Linux 5.19+).
	 */
	int fd = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_NEW_LISTENER | LEASH_WAIT_KILLABLE_RECV, &prog);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
				  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	return fd;
}

/*
 * On a terminal, stops echo and line buffering so that the go-ahead byte is neither shown nor
 * held back; done before the ready line, which the go-ahead may follow at once. Gives whether
 * `saved` holds settings to restore.
 */
static int quiet_input(struct termios *saved)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) != 0)
		return 0;
	raw = *saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	return 1;
}

/* Reads the go-ahead byte, then restores the terminal settings quiet_input changed. */
static int wait_for_go_ahead(int tty, const struct termios *saved)
{
	char byte;
	ssize_t got;

	do {
		got = read(STDIN_FILENO, &byte, 1);
	} while (got < 0 && errno == EINTR);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, saved);
	return got == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int listener, profile_fd = -1, cmd = 1, tty;
	struct termios saved;
	char *end;

	if (argc > 3 && strcmp(argv[1], "--filter-fd") == 0) {
		long fd = strtol(argv[2], &end, 10);
		if (*argv[2] == '\0' || *end != '\0' || fd < 0 || fd > 1024) {
			fprintf(stderr, "leash-launch: --filter-fd needs a descriptor number\n");
			return EXIT_NOT_RUN;
		}
		profile_fd = (int)fd;
		cmd = 3;
	}
	if (argc < cmd + 2 || strcmp(argv[cmd], "--") != 0) {
		fprintf(stderr, "usage: leash-launch [--filter-fd N] -- CMD [ARG...]\n");
		return EXIT_NOT_RUN;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "leash-launch: no_new_privs: %s\n", strerror(errno));
		return EXIT_ABORTED;
	}
	if (profile_fd >= 0 && install_profile(profile_fd) != 0)
		return EXIT_ABORTED;
	listener = install_filter();
	if (listener < 0) {
		fprintf(stderr, "leash-launch: installing the seccomp filter: %s\n", strerror(errno));
		return EXIT_ABORTED;
	}

	tty = quiet_input(&saved);
	fprintf(stderr, "leash-launch ready %d %d\n", (int)getpid(), listener);
	fflush(stderr);
	if (wait_for_go_ahead(tty, &saved) != 0)
		return EXIT_ABORTED;

	close(listener);
	/*
	 * A runtime whose own processes share the command's terminal has them ignore its interrupt
	 * and quit (which they pass on to us ignored): the command starts with the defaults.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(argv[cmd + 1], argv + cmd + 1);
	fprintf(stderr, "leash-launch: %s: %s\n", argv[cmd + 1], strerror(errno));
	return errno == ENOENT ? EXIT_NOT_RUN : EXIT_ABORTED;
}
