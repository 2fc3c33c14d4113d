/* Paths for lsm.bpf.c: the path of a file (bpf_d_path) or of a name in a directory (a
 * bounded dentry walk), and its hashes, which the matchers compare against. Included after
 * `hash_key`. */
#ifndef LEASH_LSM_PATH_H
#define LEASH_LSM_PATH_H

#define FNV_PRIME 0x100000001b3ULL
#define PATH_MASK (LEASH_LSM_PATH_BYTES - 1)

/* x & mask, kept in the register the access uses: the compiler drops a mask it can prove
 * redundant, and older verifiers (6.1) then lose the bound it carried. */
#define BOUND(x, mask)                                   \
	({                                               \
		__u64 __v = (x);                         \
		asm volatile("%0 &= " #mask : "+r"(__v)); \
		__v;                                     \
	})


/* The path being judged and what was hashed of it. A per-CPU value holds at most 32 KiB, so
 * the boundary hashes (`at[i]`: hash of path[0..i) where path[i] == '/') have their own. */
struct scratch {
	char path[LEASH_LSM_PATH_BYTES + 256];
	__u64 tail[128]; /* tail[n]: hash of the last n bytes, last first (n <= 64) */
	__u64 comp[LEASH_LSM_MAX_DEPTH]; /* the dentry walk's components, leaf first */
	__u64 full;
	__u32 len;
	__u32 suffixes; /* how many last bytes to hash (the set's longest suffix) */
	struct leash_lsm_event event;
};

struct boundaries {
	__u64 at[LEASH_LSM_PATH_BYTES];
};

/* Hashes s->path[0..s->len). */

struct hash_ctx {
	struct scratch *s;
	struct boundaries *b;
	__u64 h;
};

static long hash_forward(__u32 i, void *data)
{
	struct hash_ctx *c = data;
	struct scratch *s = c->s;
	char ch;

	if (i >= s->len)
		return 1;
	ch = s->path[BOUND(i, 4095)];
	if (ch == '/' && i > 0)
		c->b->at[BOUND(i, 4095)] = c->h;
	c->h = (c->h ^ (__u8)ch) * FNV_PRIME;
	return 0;
}

static long hash_backward(__u32 i, void *data)
{
	struct hash_ctx *c = data;
	struct scratch *s = c->s;

	if (i >= s->len || i >= s->suffixes)
		return 1;
	c->h = (c->h ^ (__u8)s->path[BOUND(s->len - 1 - i, 4095)]) * FNV_PRIME;
	s->tail[BOUND(i + 1, 127)] = c->h;
	return 0;
}

static __always_inline void hash_path(struct scratch *s, struct boundaries *b)
{
	struct hash_ctx c = { .s = s, .b = b, .h = hash_key };

	bpf_loop(LEASH_LSM_PATH_BYTES, hash_forward, &c, 0);
	s->full = c.h;
	c.h = hash_key;
	bpf_loop(LEASH_LSM_SUFFIX_BYTES, hash_backward, &c, 0);
}

/* bpf_d_path where the kernel allows it (file_open, bprm_check_security, mmap_file). */
static __always_inline bool path_of_file(struct scratch *s, struct boundaries *b, struct file *file)
{
	long n = bpf_d_path((struct path *)&file->f_path, s->path, LEASH_LSM_PATH_BYTES);

	if (n <= 1 || n > LEASH_LSM_PATH_BYTES)
		return false;
	s->len = n - 1;
	hash_path(s, b);
	return true;
}

struct walk_ctx {
	struct scratch *s;
	struct dentry *dentry;
	struct vfsmount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 n;
	__u32 pos;
	bool bad;
};

/* One step up from c->dentry: to its parent, or across a mount to the mount point. */
static long walk_up(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct dentry *d = c->dentry, *parent;
	struct vfsmount *mnt = c->mnt;
	struct mount *m, *up;

	if (d == c->root_dentry && mnt == c->root_mnt)
		return 1;
	if (d == BPF_CORE_READ(mnt, mnt_root)) {
		m = (void *)mnt - bpf_core_field_offset(struct mount, mnt);
		up = BPF_CORE_READ(m, mnt_parent);
		if (up == m)
			return 1; /* the global root: a path outside the task's root */
		c->dentry = BPF_CORE_READ(m, mnt_mountpoint);
		c->mnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d)
		return 1;
	if (c->n >= LEASH_LSM_MAX_DEPTH) {
		c->bad = true;
		return 1;
	}
	c->s->comp[BOUND(c->n, 63)] = (__u64)d;
	c->n++;
	c->dentry = parent;
	return 0;
}

/* Appends `/name` of the components from the top down. */
static long walk_down(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct dentry *d;
	const unsigned char *name;
	long n;

	if (i >= c->n)
		return 1;
	if (c->pos > LEASH_LSM_PATH_BYTES - 257) {
		c->bad = true;
		return 1;
	}
	d = (struct dentry *)c->s->comp[BOUND(c->n - 1 - i, 63)];
	c->s->path[BOUND(c->pos, 4095)] = '/';
	c->pos++;
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&c->s->path[BOUND(c->pos, 4095)], 256, name);
	if (n < 1) {
		c->bad = true;
		return 1;
	}
	c->pos += n - 1;
	return 0;
}

/* The path of `dentry` on mount `mnt` as the current task sees it (relative to its root),
 * built by walking the dentries (bpf_d_path is not allowed in the path hooks on 6.1). */
static __always_inline bool path_of_dentry(struct scratch *s, struct boundaries *b,
					   struct dentry *dentry, struct vfsmount *mnt)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct walk_ctx c = {
		.s = s,
		.dentry = dentry,
		.mnt = mnt,
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
	};

	bpf_loop(4 * LEASH_LSM_MAX_DEPTH, walk_up, &c, 0);
	if (c.bad)
		return false;
	bpf_loop(LEASH_LSM_MAX_DEPTH, walk_down, &c, 0);
	if (c.bad)
		return false;
	if (c.pos == 0) {
		s->path[0] = '/';
		c.pos = 1;
	}
	s->len = c.pos;
	hash_path(s, b);
	return true;
}

#endif
