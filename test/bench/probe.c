/*
 * The work every kernel benchmark times, inside a container: a line-oriented server that
 * reads one command per line on stdin and answers `ok MEAN_NS P99_NS` (per operation) on
 * stdout, after a first line `ready`. Built static on the host so the same binary runs in
 * any image.
 *
 *   open PATH N      open(PATH, O_RDONLY) + close, N times
 *   try PATH N       open(PATH, O_RDONLY), + close if it opened, N times; a refused open
 *                    (EPERM, EACCES) counts as done (for denials, which the audit log records)
 *   first DIR N      open + close of DIR/f0 … DIR/f<N-1>, once each (files never opened before)
 *   exec N           fork + execve("/bin/true") + waitpid, N times
 *   connect N        TCP connect to a listener on 127.0.0.1 + accept + close both, N times
 *   connect6 N       the same on ::1; where the container has no IPv6, N connects to [::1]:9
 *                    that the stack refuses after the cgroup hook has decided them
 *   refused PORT RATE N ERR
 *                    N TCP connects to 127.0.0.1:PORT from one socket, RATE a second (0: as
 *                    fast as it can), each of which must fail with ERR: EPERM (a cgroup hook
 *                    denied it) or ECONNREFUSED (nothing listens); the mean is elapsed time
 *                    over N, pauses included, so 1e9 / mean is the rate offered; p99 is of
 *                    the connect calls alone
 *   quit
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_OPS 1000000

static long long lat[MAX_OPS];

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void report(long long total, long n)
{
	qsort(lat, n, sizeof(lat[0]), cmp_ll);
	printf("ok %lld %lld\n", total / n, lat[(n * 99) / 100]);
	fflush(stdout);
}

static void fail(char *what)
{
	what[strcspn(what, "\n")] = 0;
	printf("err %s: %s\n", what, strerror(errno));
	fflush(stdout);
}

static int open_loop(const char *path, long n)
{
	long long start = now_ns(), t = start;

	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			return -1;
		close(fd);
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	report(t - start, n);
	return 0;
}

static int try_loop(const char *path, long n)
{
	long long start = now_ns(), t = start;

	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);

		if (fd >= 0)
			close(fd);
		else if (errno != EPERM && errno != EACCES)
			return -1;
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	report(t - start, n);
	return 0;
}

static int first_loop(const char *dir, long n)
{
	char path[4200];
	long long start = now_ns(), t = start;

	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", dir, i);
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			return -1;
		close(fd);
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	report(t - start, n);
	return 0;
}

static int exec_loop(long n)
{
	char *argv[] = { "/bin/true", NULL };
	char *envp[] = { NULL };
	long long start = now_ns(), t = start;

	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			execve(argv[0], argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			return -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			errno = ECHILD;
			return -1;
		}
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	report(t - start, n);
	return 0;
}

/* A listener on the loopback address of `family` (127.0.0.1 or ::1), its address in `addr`. */
static int loopback_listener(int family, struct sockaddr_storage *addr, socklen_t *len)
{
	int listener = socket(family, SOCK_STREAM, 0);

	memset(addr, 0, sizeof(*addr));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)addr;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a4);
	}
	if (listener < 0)
		return -1;
	if (bind(listener, (struct sockaddr *)addr, *len) < 0 || listen(listener, 64) < 0 ||
	    getsockname(listener, (struct sockaddr *)addr, len) < 0) {
		close(listener);
		return -1;
	}
	return listener;
}

/* Connects to ::1 where the container has no IPv6 (Docker's default bridge turns it off): each
 * connect passes the cgroup connect6 hook, then fails in the stack (EADDRNOTAVAIL, ENETUNREACH),
 * which counts as done. So the time is the hook's decision plus a refused route. */
static int connect6_attempts(long n)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	long long start = now_ns(), t = start;

	addr.sin6_addr = in6addr_loopback;
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET6, SOCK_STREAM, 0);

		if (c < 0)
			return -1;
		if (connect(c, (struct sockaddr *)&addr, sizeof(addr)) == 0 ||
		    (errno != EADDRNOTAVAIL && errno != ENETUNREACH && errno != ECONNREFUSED)) {
			close(c);
			errno = errno ? errno : EISCONN;
			return -1;
		}
		close(c);
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	report(t - start, n);
	return 0;
}

static int connect_loop(int family, long n)
{
	struct sockaddr_storage addr;
	socklen_t len;
	/* Reset on close: no TIME_WAIT, so long runs never run out of ports. */
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	int listener = loopback_listener(family, &addr, &len);

	if (listener < 0 && family == AF_INET6 && errno == EADDRNOTAVAIL)
		return connect6_attempts(n);
	if (listener < 0)
		return -1;

	long long start = now_ns(), t = start;

	for (long i = 0; i < n; i++) {
		int c = socket(family, SOCK_STREAM, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&addr, len) < 0) {
			close(listener);
			return -1;
		}
		int s = accept(listener, NULL, NULL);

		if (s < 0) {
			close(listener);
			return -1;
		}
		setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		close(c);
		close(s);
		long long t2 = now_ns();
		lat[i] = t2 - t;
		t = t2;
	}
	close(listener);
	report(t - start, n);
	return 0;
}

/* Sleeps until `deadline` (CLOCK_MONOTONIC ns). A late wake-up is caught up by the caller's
 * schedule, so the rate holds on average and comes in bursts of the ops fallen due. */
static void sleep_until(long long deadline)
{
	struct timespec ts = { .tv_sec = deadline / 1000000000LL,
			       .tv_nsec = deadline % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int refused_loop(long port, long rate, long n, int expected)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	int c = socket(AF_INET, SOCK_STREAM, 0);
	long long start = now_ns(), t = start;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		long long due = rate > 0 ? start + (long long)(i * (1e9 / rate)) : 0;

		if (due > t)
			sleep_until(due);
		long long t1 = now_ns();

		if (connect(c, (struct sockaddr *)&addr, sizeof(addr)) == 0 || errno != expected) {
			int err = errno;

			close(c);
			/* A connect that worked is as wrong as one refused for another reason. */
			errno = err == expected || err == 0 ? EISCONN : err;
			return -1;
		}
		t = now_ns();
		lat[i] = t - t1;
	}
	close(c);
	report(t - start, n);
	return 0;
}

/* The error a `refused` command expects, by name; 0 for a name it does not take. */
static int refusal_errno(const char *name)
{
	if (strcmp(name, "EPERM") == 0)
		return EPERM;
	if (strcmp(name, "ECONNREFUSED") == 0)
		return ECONNREFUSED;
	return 0;
}

int main(void)
{
	char line[8192], arg[4096], err[16];
	long n, port, rate;

	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int rc;

		if (strncmp(line, "quit", 4) == 0)
			break;
		if (sscanf(line, "open %4095s %ld", arg, &n) == 2 && n > 0 && n <= MAX_OPS)
			rc = open_loop(arg, n);
		else if (sscanf(line, "try %4095s %ld", arg, &n) == 2 && n > 0 && n <= MAX_OPS)
			rc = try_loop(arg, n);
		else if (sscanf(line, "first %4095s %ld", arg, &n) == 2 && n > 0 && n <= MAX_OPS)
			rc = first_loop(arg, n);
		else if (sscanf(line, "exec %ld", &n) == 1 && n > 0 && n <= MAX_OPS)
			rc = exec_loop(n);
		else if (strncmp(line, "connect6 ", 9) == 0)
			rc = sscanf(line + 9, "%ld", &n) == 1 && n > 0 && n <= MAX_OPS
				     ? connect_loop(AF_INET6, n)
				     : (errno = EINVAL, -1);
		else if (sscanf(line, "connect %ld", &n) == 1 && n > 0 && n <= MAX_OPS)
			rc = connect_loop(AF_INET, n);
		else if (sscanf(line, "refused %ld %ld %ld %15s", &port, &rate, &n, err) == 4 &&
			 port > 0 && port < 65536 && rate >= 0 && n > 0 && n <= MAX_OPS &&
			 refusal_errno(err))
			rc = refused_loop(port, rate, n, refusal_errno(err));
		else {
			errno = EINVAL;
			rc = -1;
		}
		if (rc < 0)
			fail(line);
	}
	return 0;
}
