/* The lsm backend: file opens, changes by path and execs of a session's tasks judged in BPF LSM
 * hooks from the same file and exec rules as the portable backend. See lsm.h for the layout. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lsm.h"

#define EPERM 1
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define PROT_EXEC 0x4
#define S_IFMT 00170000
#define S_IFDIR 0040000

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 hash_key = 0;

#include "lsm_path.h"

/*
 * Precedence, the same as Cedar's and policies/src/ir.ts: an access is denied when any
 * matching forbid rule applies to it, else allowed when any matching permit rule applies,
 * else denied (default deny); order never matters. Reading and writing are judged apart and
 * an open for both needs both. A rule matches a path when every one of its matchers holds:
 * exact (the whole path), prefix (the path or below it, by whole components: `/work` never
 * covers `/workspace`), suffix (the path's last bytes); negate inverts one matcher.
 *
 * Map layout:
 *   cgroups[cgroup id]      -> slot: the tasks judged, by the id of their cgroup or of an
 *                              ancestor at a level named in `levels` (the deepest one wins);
 *                              a task in no such cgroup is never touched.
 *   active[slot]            -> generation (0 or 1) of the slot's set in force.
 *   sets[slot * 2 + gen]    -> that generation's file and exec rules.
 *   below[{set, len, hash}] -> for a directory: which exact/prefix matchers name something
 *                              strictly below it (renaming or removing it needs those too).
 *   values[...]             -> each matcher's bytes, which a hash match is confirmed against.
 * An update writes the idle generation whole (its set and its `below` entries), then flips
 * `active[slot]`: a hook reads `active` once and judges by one set from start to end.
 *
 * Paths are compared by keyed 64-bit FNV-1a hash and length first: every prefix of the path
 * that ends at a component boundary is hashed in one pass, the last bytes in a second, so a
 * matcher that does not hold costs one comparison; one whose hash matches is confirmed byte
 * by byte against its value.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LEASH_LSM_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u32);
} cgroups SEC(".maps");

/* Bit n: some cgroup in `cgroups` sits at level n of the cgroup v2 tree. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} levels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LEASH_LSM_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * LEASH_LSM_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct leash_lsm_set);
} sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct leash_lsm_below_key);
	__type(value, struct leash_lsm_below);
} below SEC(".maps");

/* Allocated as written (a hash without preallocation): a slot a session never uses costs
 * nothing, and a policy uses a few of its rules' matchers. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LEASH_LSM_VALUES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct leash_lsm_value);
} values SEC(".maps");

#include "lsm_match.h"

/* Processes running the dynamic loader itself (`ld.so PROGRAM`), by thread-group id: the
 * loader's own file, whose executable mappings are its own; the next file mapped executable
 * is the program, judged as an exec. */
struct loader_run {
	__u64 ino;
	__u32 dev;
	__u32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct loader_run);
} loader_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LEASH_LSM_STATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct boundaries);
} boundaries SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&stats, &which);

	if (n)
		*n += 1;
}

/* The slot of the current task, or -1 when it is not judged. */
static int current_slot(void)
{
	__u32 zero = 0, *mask = bpf_map_lookup_elem(&levels, &zero), *slot;
	__u64 id = bpf_get_current_cgroup_id();
	int level;

	slot = bpf_map_lookup_elem(&cgroups, &id);
	if (slot)
		return *slot;
	if (!mask || *mask == 0)
		return -1;
	for (level = 31; level >= 0; level--) {
		if (!(*mask & (1U << level)))
			continue;
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (id == 0)
			continue;
		slot = bpf_map_lookup_elem(&cgroups, &id);
		if (slot)
			return *slot;
	}
	return -1;
}

static __always_inline const struct leash_lsm_set *set_of(int slot, __u32 *index)
{
	__u32 key = slot, *gen = bpf_map_lookup_elem(&active, &key);

	if (!gen)
		return 0;
	*index = (key * 2 + (*gen & 1)) & (2 * LEASH_LSM_MAX_SLOTS - 1);
	return bpf_map_lookup_elem(&sets, index);
}

/* Reports one decision (denials always, allowed accesses when the set asks for them). */
static __always_inline void report(struct scratch *s, int slot, __u8 access, __u8 decision,
				   __u8 is_below,
		   __u8 to)
{
	struct leash_lsm_event *e = &s->event;
	__u32 n = s->len;

	if (n > LEASH_LSM_EVENT_PATH - 1)
		n = LEASH_LSM_EVENT_PATH - 1;
	e->pid = (__u32)bpf_get_current_pid_tgid();
	e->slot = slot;
	e->access = access;
	e->decision = decision;
	e->below = is_below;
	e->to = to;
	e->path_len = n;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel(e->path, n & (LEASH_LSM_EVENT_PATH - 1), s->path);
	if (bpf_ringbuf_output(&events, e,
			       offsetof(struct leash_lsm_event, path) +
				       (n & (LEASH_LSM_EVENT_PATH - 1)),
			       0) != 0)
		count(LEASH_LSM_STAT_LOST);
}

/* Judges the hashed path for one access and reports; 0 or -EPERM for the hook. */
static __always_inline int decide(struct scratch *s, struct boundaries *b, int slot,
		  const struct leash_lsm_set *set, __u32 index, __u8 access, bool dir_moved,
		  __u8 to)
{
	struct judge_ctx c = { .s = s, .b = b, .set = set, .index = index };
	bool ok, is_below = false;

	count(LEASH_LSM_STAT_ASKED);
	if (access == LEASH_LSM_EXEC)
		bpf_loop(LEASH_LSM_MAX_RULES, judge_exec_rule, &c, 0);
	else
		bpf_loop(LEASH_LSM_MAX_RULES, judge_file_rule, &c, 0);
	ok = allows(c.verdict, access);
	if (ok && dir_moved && forbids_below(s, b, set, index)) {
		ok = false;
		is_below = true;
	}

	if (ok) {
		count(LEASH_LSM_STAT_ALLOWED);
		if (set->report_allowed)
			report(s, slot, access, LEASH_LSM_ALLOW, 0, to);
		return 0;
	}
	count(LEASH_LSM_STAT_DENIED);
	report(s, slot, access, set->enforce ? LEASH_LSM_DENY : LEASH_LSM_WOULD_DENY, is_below,
	       to);
	return set->enforce ? -EPERM : 0;
}

/* This CPU's buffers, readied for a path judged by `set`; NULL never happens (a per-CPU
 * array of one entry). */
static __always_inline struct scratch *buffers(struct boundaries **b,
					       const struct leash_lsm_set *set)
{
	__u32 zero = 0;
	struct scratch *s;

	*b = bpf_map_lookup_elem(&boundaries, &zero);
	s = *b ? bpf_map_lookup_elem(&scratch, &zero) : 0;
	if (s)
		s->suffixes = set->max_suffix;
	return s;
}

static __always_inline bool is_dir(struct dentry *d)
{
	struct inode *inode = BPF_CORE_READ(d, d_inode);

	return inode && (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFDIR;
}

/* A path that cannot be read (too long, too deep) is denied to a judged task. */
static __always_inline int unreadable(struct scratch *s, const struct leash_lsm_set *set, int slot,
		      __u8 access)
{
	s->len = 0;
	count(LEASH_LSM_STAT_ASKED);
	count(LEASH_LSM_STAT_DENIED);
	report(s, slot, access, set->enforce ? LEASH_LSM_DENY : LEASH_LSM_WOULD_DENY, 0, 0);
	return set->enforce ? -EPERM : 0;
}

/* A change to the name `dentry` in directory `dir`. */
static __always_inline int judge_change(const struct path *dir, struct dentry *dentry, __u8 access,
			bool dir_moved, __u8 to)
{
	const struct leash_lsm_set *set;
	struct scratch *s;
	struct boundaries *b;
	__u32 index;
	int slot = current_slot();

	if (slot < 0 || !(set = set_of(slot, &index)) || !(s = buffers(&b, set)))
		return 0;
	if (!path_of_dentry(s, b, dentry, BPF_CORE_READ(dir, mnt)))
		return unreadable(s, set, slot, access);
	return decide(s, b, slot, set, index, access, dir_moved, to);
}

/* --- hooks --- */

SEC("lsm/file_open")
int BPF_PROG(leash_file_open, struct file *file)
{
	const struct leash_lsm_set *set;
	struct scratch *s;
	struct boundaries *b;
	__u32 index, mode = file->f_mode;
	__u8 access;
	int slot = current_slot();

	if (slot < 0 || !(set = set_of(slot, &index)) || !(s = buffers(&b, set)))
		return 0;
	/* The kernel's own open of a program for exec is judged as Exec (bprm_check_security);
	 * directories are not files (the portable backend does not see their opens either). */
	if ((mode & FMODE_EXEC) || (file->f_inode->i_mode & S_IFMT) == S_IFDIR)
		return 0;
	if (mode & FMODE_WRITE)
		access = (mode & FMODE_READ) ? LEASH_LSM_READWRITE : LEASH_LSM_WRITE;
	else
		access = LEASH_LSM_READ;
	if (!path_of_file(s, b, file))
		return unreadable(s, set, slot, access);
	return decide(s, b, slot, set, index, access, false, 0);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(leash_bprm_check, struct linux_binprm *bprm)
{
	const struct leash_lsm_set *set;
	struct scratch *s;
	struct boundaries *b;
	struct file *file = bprm->file;
	__u32 index, tgid = bpf_get_current_pid_tgid() >> 32;
	char base[8] = {};
	int slot = current_slot(), ret;

	if (slot < 0 || !(set = set_of(slot, &index)) || !(s = buffers(&b, set)))
		return 0;
	if (!path_of_file(s, b, file))
		return unreadable(s, set, slot, LEASH_LSM_EXEC);
	ret = decide(s, b, slot, set, index, LEASH_LSM_EXEC, false, 0);
	if (ret != 0)
		return ret;

	/* ld-linux*, ld-musl-*, ld64.so*: the next program it maps executable is an exec. */
	bpf_probe_read_kernel(base, sizeof(base), file->f_path.dentry->d_name.name);
	if ((base[0] == 'l' && base[1] == 'd' && base[2] == '-' &&
	     ((base[3] == 'l' && base[4] == 'i' && base[5] == 'n' && base[6] == 'u' &&
	       base[7] == 'x') ||
	      (base[3] == 'm' && base[4] == 'u' && base[5] == 's' && base[6] == 'l'))) ||
	    (base[0] == 'l' && base[1] == 'd' && base[2] == '6' && base[3] == '4' &&
	     base[4] == '.' && base[5] == 's' && base[6] == 'o')) {
		struct loader_run run = {
			.ino = file->f_inode->i_ino,
			.dev = file->f_inode->i_sb->s_dev,
			.slot = slot,
		};
		bpf_map_update_elem(&loader_runs, &tgid, &run, BPF_ANY);
	} else {
		bpf_map_delete_elem(&loader_runs, &tgid);
	}
	return 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(leash_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags)
{
	const struct leash_lsm_set *set;
	struct loader_run *run;
	struct scratch *s;
	struct boundaries *b;
	__u32 index, tgid = bpf_get_current_pid_tgid() >> 32;
	int slot;

	if (!file || !(prot & PROT_EXEC))
		return 0;
	run = bpf_map_lookup_elem(&loader_runs, &tgid);
	if (!run)
		return 0;
	if (file->f_inode->i_ino == run->ino && file->f_inode->i_sb->s_dev == run->dev)
		return 0;
	slot = run->slot;
	bpf_map_delete_elem(&loader_runs, &tgid);
	if (!(set = set_of(slot, &index)) || !(s = buffers(&b, set)))
		return 0;
	if (!path_of_file(s, b, file))
		return unreadable(s, set, slot, LEASH_LSM_EXEC);
	return decide(s, b, slot, set, index, LEASH_LSM_EXEC, false, 0);
}

SEC("lsm/path_mknod")
int BPF_PROG(leash_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev)
{
	return judge_change(dir, dentry, LEASH_LSM_CREATE, false, 0);
}

SEC("lsm/path_mkdir")
int BPF_PROG(leash_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode)
{
	return judge_change(dir, dentry, LEASH_LSM_CREATE, false, 0);
}

SEC("lsm/path_symlink")
int BPF_PROG(leash_path_symlink, const struct path *dir, struct dentry *dentry,
	     const char *old_name)
{
	return judge_change(dir, dentry, LEASH_LSM_CREATE, false, 0);
}

SEC("lsm/path_unlink")
int BPF_PROG(leash_path_unlink, const struct path *dir, struct dentry *dentry)
{
	return judge_change(dir, dentry, LEASH_LSM_UNLINK, false, 0);
}

SEC("lsm/path_rmdir")
int BPF_PROG(leash_path_rmdir, const struct path *dir, struct dentry *dentry)
{
	return judge_change(dir, dentry, LEASH_LSM_RMDIR, true, 0);
}

SEC("lsm/path_link")
int BPF_PROG(leash_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry)
{
	return judge_change(new_dir, new_dentry, LEASH_LSM_LINK, false, 0);
}

SEC("lsm/path_rename")
int BPF_PROG(leash_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry)
{
	int ret = judge_change(old_dir, old_dentry, LEASH_LSM_RENAME, is_dir(old_dentry), 0);

	if (ret != 0)
		return ret;
	/* A directory replaced (or swapped by RENAME_EXCHANGE) at the new name moves too. */
	return judge_change(new_dir, new_dentry, LEASH_LSM_RENAME, is_dir(new_dentry), 1);
}

SEC("lsm/path_truncate")
int BPF_PROG(leash_path_truncate, const struct path *path)
{
	const struct leash_lsm_set *set;
	struct scratch *s;
	struct boundaries *b;
	__u32 index;
	int slot = current_slot();

	if (slot < 0 || !(set = set_of(slot, &index)) || !(s = buffers(&b, set)))
		return 0;
	if (!path_of_dentry(s, b, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt)))
		return unreadable(s, set, slot, LEASH_LSM_TRUNCATE);
	return decide(s, b, slot, set, index, LEASH_LSM_TRUNCATE, false, 0);
}
