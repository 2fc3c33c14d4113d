/* Judges every exec of the session's tasks on the argv the new image received, and kills a
 * violator before its first instruction. See exec.h for the rules, records and bounds. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exec.h"

#define SIGKILL 9
#define DECISION_ALLOW 1
#define DECISION_DENY 2

char LICENSE[] SEC("license") = "GPL";

/* The key of the keyed hash, chosen at random by the addon before load. */
const volatile __u64 hash_key = 0;

/* The cgroups (by id) whose tasks are judged; any other task is never touched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u32);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct leash_exec_set);
} sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * LEASH_EXEC_MAX_RULES);
	__type(key, __u32);
	__type(value, struct leash_exec_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} active SEC(".maps");

/* Program records by the exec-ing thread's id; an evicted record makes the program unknown. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct leash_exec_program);
} programs SEC(".maps");

/* Script records by the exec-ing thread's id (see exec.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct leash_exec_program);
} scripts SEC(".maps");

/* Dynamic loaders (by identity) seen by the answerer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct leash_exec_file);
	__type(value, __u8);
} loaders SEC(".maps");

#include "exec_match.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Reads the new image's argv area into the scratch buffer and splits it. */
static void read_argv(struct task_struct *task, struct scratch *s, __u32 *whole)
{
	struct ctx_scratch c = { .s = s };
	unsigned long start = task->mm->arg_start, end = task->mm->arg_end;
	__u32 size = end > start ? end - start : 0;
	long read;

	*whole = size;
	s->overflow = 0;
	s->nargs = 0;
	s->seen = 0;
	s->start = 0;
	s->h = hash_key;
	if (size > LEASH_EXEC_ARGV_BYTES) {
		s->overflow = 1;
		size = LEASH_EXEC_ARGV_BYTES;
	}
	if (size == LEASH_EXEC_ARGV_BYTES) {
		read = bpf_probe_read_user(s->buf, LEASH_EXEC_ARGV_BYTES, (void *)start);
	} else {
		/* the bound again, in the register the call uses, for the verifier */
		asm volatile("%0 &= 0xfff" : "+r"(size));
		read = bpf_probe_read_user(s->buf, size, (void *)start);
	}
	if (read != 0) {
		s->overflow = 1;
		size = 0;
	}
	s->size = size;
	bpf_loop(LEASH_EXEC_ARGV_BYTES, parse_byte, &c, 0);
}

/* The set of a generation lives in slot `generation & 1` until two updates later. */
static const struct leash_exec_set *set_of(__u64 generation)
{
	__u32 idx = generation & 1;
	const struct leash_exec_set *set = bpf_map_lookup_elem(&sets, &idx);

	return set && set->generation == generation ? set : 0;
}

#define ARGV_UNKNOWN 0xffffffffU

/* The decision of one rule set for one program, whose rules see argv[1 + first..] (none of
 * it when `first` is ARGV_UNKNOWN). */
static __u8 judge(struct scratch *s, const struct leash_exec_set *set, __u64 mask, __u32 first,
		  __u8 *flags)
{
	struct ctx_judge judge = { .s = s };
	__u64 all = set->count >= 64 ? ~0ULL : (1ULL << set->count) - 1, direct;

	mask &= all;
	direct = mask & ~set->argv_mask; /* rules that match without looking at argv */
	if (direct & set->forbid_mask)
		return DECISION_DENY;
	if ((mask & set->argv_mask) == 0)
		return direct ? DECISION_ALLOW : DECISION_DENY;
	if (s->overflow || first == ARGV_UNKNOWN) {
		*flags |= LEASH_EXEC_OVERFLOW;
		return DECISION_DENY;
	}

	*flags |= LEASH_EXEC_ARGV_READ;
	s->first = first;
	s->text_at = first < s->nargs ? s->off[ARG_SLOT(first)] : s->size;
	judge.base = (set->generation & 1) * LEASH_EXEC_MAX_RULES;
	judge.count = set->count;
	judge.candidates = mask & set->argv_mask;
	bpf_loop(LEASH_EXEC_MAX_RULES, judge_rule, &judge, 0);
	return !judge.forbidden && (judge.permitted || direct) ? DECISION_ALLOW : DECISION_DENY;
}

static long hash_name(__u32 i, void *data)
{
	struct scratch *s = ((struct ctx_scratch *)data)->s;
	char c = s->name[i & 255];

	if (c == 0)
		return 1;
	s->h = (s->h ^ (__u8)c) * FNV_PRIME;
	s->start = i + 1;
	return 0;
}

/* Whether argv[1..][skip - 1] is bprm->filename: the entry a single handoff puts there. */
static bool handed_over_once(struct scratch *s, const char *filename, __u32 skip)
{
	struct ctx_scratch c = { .s = s };
	__u32 k = skip - 1;

	if (skip < 1 || skip > 2 || k >= s->nargs)
		return false;
	if (bpf_probe_read_kernel_str(s->name, sizeof(s->name), filename) <= 0)
		return false;
	s->h = hash_key;
	s->start = 0;
	bpf_loop(sizeof(s->name), hash_name, &c, 0);
	return s->h == s->hash[ARG_SLOT(k)] && s->start == s->len[ARG_SLOT(k)];
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(leash_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 cgroup = bpf_get_current_cgroup_id();
	const struct leash_exec_program *record, *script;
	const struct leash_exec_set *set, *script_set;
	struct leash_exec_file file = {};
	struct leash_exec_event *event;
	__u32 zero = 0, tid = old_pid, whole = 0;
	__u64 *active_set, mask, generation;
	struct scratch *s;
	__u8 flags = 0, decision;
	bool quiet, trusted = false;

	if (!bpf_map_lookup_elem(&cgroups, &cgroup))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	active_set = bpf_map_lookup_elem(&active, &zero);
	if (!s || !active_set)
		return 0;
	generation = *active_set;
	set = set_of(generation);
	if (!set)
		return 0;

	file.ino = bprm->file->f_inode->i_ino;
	file.dev = bprm->file->f_inode->i_sb->s_dev;
	record = bpf_map_lookup_elem(&programs, &tid);
	mask = set->unknown_mask;
	if (bpf_map_lookup_elem(&loaders, &file)) {
		flags |= LEASH_EXEC_LOADER;
	} else if (record && record->ino == file.ino && record->dev == file.dev &&
		   set_of(record->generation)) {
		set = set_of(record->generation);
		if (!set)
			return 0;
		mask = record->mask;
		trusted = record->trusted;
	} else {
		flags |= LEASH_EXEC_UNKNOWN;
	}
	generation = set->generation;
	bpf_map_delete_elem(&programs, &tid);

	read_argv(task, s, &whole);
	if (trusted)
		decision = DECISION_ALLOW;
	else if (flags & LEASH_EXEC_LOADER)
		decision = set->loader_allowed ? DECISION_ALLOW : DECISION_DENY;
	else
		decision = judge(s, set, mask, 0, &flags);

	/* A script handed over to its interpreter: its own rules, on its own arguments. */
	if (bprm->interp != bprm->filename) {
		script = bpf_map_lookup_elem(&scripts, &tid);
		script_set = script ? set_of(script->generation) : 0;
		flags |= LEASH_EXEC_SCRIPT;
		if (script && script_set && handed_over_once(s, bprm->filename, script->skip)) {
			if (judge(s, script_set, script->mask, script->skip, &flags) ==
			    DECISION_DENY)
				decision = DECISION_DENY;
		} else {
			flags |= LEASH_EXEC_UNKNOWN;
			if (judge(s, set, set->unknown_mask, ARGV_UNKNOWN, &flags) == DECISION_DENY)
				decision = DECISION_DENY;
		}
	}
	bpf_map_delete_elem(&scripts, &tid);

	if (decision == DECISION_DENY)
		bpf_send_signal(SIGKILL);

	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

		if (lost)
			__sync_fetch_and_add(lost, 1);
		return 0;
	}
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->old_tid = tid;
	event->generation = generation;
	event->ino = file.ino;
	event->dev = file.dev;
	event->argv_len = whole;
	event->decision = decision;
	event->flags = flags;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_probe_read_kernel(event->argv, sizeof(event->argv), s->buf);
	/* A denial wakes the reader at once; allowed execs may wait for its next poll. */
	quiet = decision == DECISION_ALLOW && set->quiet_allowed;
	bpf_ringbuf_submit(event, quiet ? BPF_RB_NO_WAKEUP : 0);
	return 0;
}
