/* The layout shared by lsm.bpf.c and the addon (lsm_guard.cc): rule sets, events, stats. */
#ifndef LEASH_LSM_H
#define LEASH_LSM_H

#define LEASH_LSM_MAX_SLOTS 8       /* rule sets per guard: a session's principals (power of 2) */
#define LEASH_LSM_MAX_CGROUPS 64    /* cgroups one guard judges (a session's principals) */
#define LEASH_LSM_MAX_RULES 64      /* file rules, and exec rules, of one set */
#define LEASH_LSM_MAX_MATCHERS 4    /* path matchers of one rule */
#define LEASH_LSM_PATH_BYTES 4096   /* PATH_MAX: longer paths are denied */
#define LEASH_LSM_SUFFIX_BYTES 64   /* bytes of one suffix matcher */
#define LEASH_LSM_MAX_DEPTH 64      /* components of a path built by the dentry walk */
#define LEASH_LSM_EVENT_PATH 1024   /* bytes of a path an event carries */

enum leash_lsm_kind {
	LEASH_LSM_EXACT = 0,
	LEASH_LSM_PREFIX = 1,
	LEASH_LSM_SUFFIX = 2,
	LEASH_LSM_ROOT = 3, /* the prefix `/`: holds for every path */
};

/* A path matcher: `hash` is the keyed FNV-1a hash of the value (for a suffix, of its bytes
 * read last to first) and `len` its length in bytes. */
struct leash_lsm_matcher {
	__u64 hash;
	__u32 len;
	__u8 kind;
	__u8 negate;
	__u8 pad[2];
};

struct leash_lsm_rule {
	__u8 forbid;
	__u8 read;  /* file rules: applies to reading */
	__u8 write; /* file rules: applies to writing */
	__u8 argv;  /* exec rules: also has argv/args matchers (left to exec.bpf.c) */
	__u8 nmatch;
	__u8 pad[3];
	struct leash_lsm_matcher match[LEASH_LSM_MAX_MATCHERS];
};

struct leash_lsm_set {
	__u32 nfile;
	__u32 nexec;
	__u8 enforce;        /* 0: decide and report, but allow (shadow, record) */
	__u8 report_allowed; /* report allowed accesses as well as denials */
	__u8 max_suffix;     /* bytes of the longest suffix matcher: how far to hash backwards */
	__u8 pad[5];
	struct leash_lsm_rule file[LEASH_LSM_MAX_RULES];
	struct leash_lsm_rule exec[LEASH_LSM_MAX_RULES];
};

/* The bytes of one matcher's value, which a hash match is confirmed against: entry
 * ((set * 2 + is_exec) * LEASH_LSM_MAX_RULES + rule) * LEASH_LSM_MAX_MATCHERS + matcher of
 * `values`, where set is slot * 2 + generation. */
struct leash_lsm_value {
	char bytes[LEASH_LSM_PATH_BYTES];
};

#define LEASH_LSM_VALUES (2 * LEASH_LSM_MAX_SLOTS * 2 * LEASH_LSM_MAX_RULES * LEASH_LSM_MAX_MATCHERS)

/* Key of `below`: a directory (by length and hash) in one set (slot * 2 + generation). */
struct leash_lsm_below_key {
	__u32 set;
	__u32 len;
	__u64 hash;
};

/* Bit i of mask[j]: matcher j of file rule i is an exact or prefix (not negated) whose value
 * lies strictly below the key's directory. */
struct leash_lsm_below {
	__u64 mask[LEASH_LSM_MAX_MATCHERS];
};

enum leash_lsm_access {
	LEASH_LSM_READ = 1,
	LEASH_LSM_WRITE = 2,
	LEASH_LSM_READWRITE = 3,
	LEASH_LSM_EXEC = 4,    /* exec by path, or a program mapped by the dynamic loader */
	LEASH_LSM_CREATE = 5,  /* mknod (O_CREAT too), mkdir, symlink */
	LEASH_LSM_UNLINK = 6,
	LEASH_LSM_RMDIR = 7,
	LEASH_LSM_RENAME = 8,  /* the old name, or (with `to` set) the new one */
	LEASH_LSM_LINK = 9,
	LEASH_LSM_TRUNCATE = 10,
};

enum leash_lsm_decision {
	LEASH_LSM_ALLOW = 1,
	LEASH_LSM_DENY = 2,
	LEASH_LSM_WOULD_DENY = 3,
};

struct leash_lsm_event {
	__u32 pid; /* thread id */
	__u32 slot;
	__u8 access;
	__u8 decision;
	__u8 below;    /* denied for what a forbid protects below the path (rename, rmdir) */
	__u8 to;       /* rename: this is the new name */
	__u32 path_len;
	char comm[16];
	char path[LEASH_LSM_EVENT_PATH];
};

enum leash_lsm_stat {
	LEASH_LSM_STAT_ASKED = 0,
	LEASH_LSM_STAT_ALLOWED = 1,
	LEASH_LSM_STAT_DENIED = 2,
	LEASH_LSM_STAT_LOST = 3,
	LEASH_LSM_STATS = 4,
};

#endif
