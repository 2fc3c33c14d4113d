/* The layout shared by exec.bpf.c and the addon: exec rule sets, program records, events. */
#ifndef LEASH_EXEC_H
#define LEASH_EXEC_H

#define LEASH_EXEC_MAX_RULES 64    /* one bit each in a program mask */
#define LEASH_EXEC_MAX_MATCHERS 4  /* argv/args matchers of one rule */
#define LEASH_EXEC_MAX_VALUES 8    /* values of one contains matcher, parts of one like */
#define LEASH_EXEC_MAX_PART 64     /* bytes of one like part */
#define LEASH_EXEC_MAX_ARGS 64     /* entries of argv[1..] the program reads */
#define LEASH_EXEC_ARGV_BYTES 4096 /* bytes of the new image's argv area it reads */
#define LEASH_EXEC_EVENT_ARGV 1024 /* bytes of argv an event carries */

enum leash_exec_matcher_kind {
	LEASH_EXEC_CONTAINS_ALL = 1, /* every value is an element of argv[1..] */
	LEASH_EXEC_CONTAINS_ANY = 2, /* some value is an element of argv[1..] */
	LEASH_EXEC_ARGS_LIKE = 3,    /* argv[1..] joined by single spaces matches a glob */
};

/*
 * Decision, the same as Cedar's and policies/src/ir.ts: an exec is denied when any forbid
 * rule matches, else allowed when any permit rule matches, else denied. A rule matches when
 * its program matchers hold for the program that runs (judged in user space, on the
 * canonical path the fanotify answerer saw, and handed over as one bit per rule: the
 * program's mask) and every argv/args matcher below holds for the argv the new image got.
 *
 * Program records: at the exec's FAN_OPEN_EXEC_PERM event the answerer stores, under the
 * exec-ing thread's id, the program's identity (device, inode), its mask and the rule
 * generation that made it. sched_process_exec looks the record up by `old_pid` and uses it
 * only when the identity and the generation match what runs; otherwise (a memfd, a mount
 * with no mark, a record made under other rules) the program is unknown and the set's
 * `unknown_mask` applies: permits that name programs do not hold, forbids that do hold.
 *
 * Sets: `sets` and `rules` hold two rule sets; `active[0]` names the one new records are
 * made for. An update fills the idle set, then flips `active`; a record made just before
 * a flip still finds its own set, whose `generation` says which update wrote it.
 *
 * Scripts: at a `#!` script's event the answerer also stores a script record: its mask and
 * how many entries the kernel's handoff puts in front of the script's own argv[1..] (the
 * script's path, after the `#!` line's optional argument). When sched_process_exec sees a
 * handoff (bprm->interp differs from bprm->filename), the script's rules are judged on argv
 * from there, once the entry before it is seen to be bprm->filename; a nested handoff or a
 * missing record makes the script unknown, and then any argv rule that may apply denies.
 *
 * No race on the verdict: the program runs in the exec-ing task, after the new argv is in
 * place and before that task returns to user space, and its SIGKILL cannot be blocked or
 * undone (no SIGSTOP and user-space verdict that a sibling's SIGCONT could cut short). What
 * it does not stop is a sibling that writes the task's memory (/proc/<pid>/mem) after the
 * check: such a writer can change anything the program does (docs/limitations.md).
 *
 * Strings are matched by a keyed 64-bit FNV-1a hash and their length (contains), or byte by
 * byte (like). An argv area longer than LEASH_EXEC_ARGV_BYTES or with more than
 * LEASH_EXEC_MAX_ARGS arguments cannot be judged: when any rule that could apply has argv
 * matchers, the program is killed.
 */
struct leash_exec_matcher {
	__u8 kind;
	__u8 negate;
	__u8 count; /* values or parts in use */
	__u8 pad[5];
	__u64 hash[LEASH_EXEC_MAX_VALUES]; /* contains: keyed hashes of the values */
	__u32 len[LEASH_EXEC_MAX_VALUES];  /* contains: value lengths; like: part lengths */
	char part[LEASH_EXEC_MAX_VALUES][LEASH_EXEC_MAX_PART]; /* like: the literal pieces */
};

struct leash_exec_rule {
	__u8 forbid;
	__u8 matcher_count;
	__u8 pad[6];
	struct leash_exec_matcher matchers[LEASH_EXEC_MAX_MATCHERS];
};

struct leash_exec_set {
	__u64 generation;
	__u64 forbid_mask;  /* rules that are forbids */
	__u64 argv_mask;    /* rules with argv/args matchers */
	__u64 unknown_mask; /* rules that may hold for a program no record names */
	__u32 count;
	__u8 loader_allowed; /* whether running the dynamic loader itself is allowed */
	__u8 quiet_allowed;  /* allowed execs wait for the reader's next poll (no wakeup) */
	__u8 pad[2];
};

struct leash_exec_program {
	__u64 ino;
	__u64 generation;
	__u64 mask;
	__u32 dev;     /* the kernel's encoding: major << 20 | minor */
	__u32 skip;    /* scripts: argv entries the interpreter handoff put before the script's own */
	__u32 trusted; /* leashd's own program (its launcher): runs whatever the rules say */
	__u32 pad;
};

/* The key of a loader identity: programs that are dynamic loaders, run directly. */
struct leash_exec_file {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

enum leash_exec_flags {
	LEASH_EXEC_UNKNOWN = 1,  /* no record named the program that runs */
	LEASH_EXEC_OVERFLOW = 2, /* argv was past the bounds the program reads */
	LEASH_EXEC_LOADER = 4,   /* the dynamic loader was run directly */
	LEASH_EXEC_ARGV_READ = 8, /* argv was read (rules needed it) */
	LEASH_EXEC_SCRIPT = 16,   /* a `#!` script handed over to its interpreter */
};

struct leash_exec_event {
	__u32 pid;     /* the new program's process id */
	__u32 old_tid; /* the thread that called exec (names its program record) */
	__u64 generation;
	__u64 ino;      /* the program that runs (for a script, its interpreter) */
	__u32 dev;
	__u32 argv_len; /* bytes of the argv area, whole */
	__u8 decision;  /* LEASH_ALLOW or LEASH_DENY of connect.h's values: 1, 2 */
	__u8 flags;
	__u8 pad[2];
	char comm[16];
	char argv[LEASH_EXEC_EVENT_ARGV]; /* the start of the argv area, NUL-separated */
};

#endif
