/* Matching for lsm.bpf.c: a hashed path against the matchers of a rule set, the verdicts of
 * file and exec rules, and the forbids below a directory. Included after the `below` map. */
#ifndef LEASH_LSM_MATCH_H
#define LEASH_LSM_MATCH_H

struct confirm_ctx {
	struct scratch *s;
	const struct leash_lsm_value *v;
	__u32 off;
	__u32 len;
	bool differ;
};

/* Compares 8 bytes at a time (the value is zero-padded; the path's bytes past `len` are
 * masked off). */
static long confirm_word(__u32 i, void *data)
{
	struct confirm_ctx *c = data;
	__u32 at = i * 8, rest;
	__u64 a, v, mask = ~0ULL;

	if (at >= c->len)
		return 1;
	a = *(__u64 *)&c->s->path[BOUND(c->off + at, 4095)];
	v = *(__u64 *)&c->v->bytes[BOUND(at, 4088)];
	rest = c->len - at;
	if (rest < 8)
		mask = (1ULL << (rest * 8)) - 1;
	if ((a ^ v) & mask) {
		c->differ = true;
		return 1;
	}
	return 0;
}

/* Whether path[off..off+len) equals the value in `values[vkey]`. */
static __always_inline bool confirm(struct scratch *s, __u32 vkey, __u32 off, __u32 len)
{
	struct confirm_ctx c = { .s = s, .off = off, .len = len };
	__u32 key = vkey; /* a hash map's key: one that was never written misses */

	c.v = bpf_map_lookup_elem(&values, &key);
	if (!c.v)
		return false;
	bpf_loop(LEASH_LSM_PATH_BYTES / 8, confirm_word, &c, 0);
	return !c.differ;
}

/* Whether matcher `m` (its bytes in values[vkey]) holds for the hashed path, negation not
 * applied. */
static __always_inline bool holds(struct scratch *s, struct boundaries *b,
				  const struct leash_lsm_matcher *m, __u32 vkey)
{
	__u32 len = m->len;

	switch (m->kind) {
	case LEASH_LSM_EXACT:
		return len == s->len && m->hash == s->full && confirm(s, vkey, 0, len);
	case LEASH_LSM_PREFIX:
		if (len > s->len)
			return false;
		if (len == s->len)
			return m->hash == s->full && confirm(s, vkey, 0, len);
		return s->path[BOUND(len, 4095)] == '/' && b->at[BOUND(len, 4095)] == m->hash &&
		       confirm(s, vkey, 0, len);
	case LEASH_LSM_SUFFIX:
		return len <= s->len && len <= LEASH_LSM_SUFFIX_BYTES &&
		       s->tail[BOUND(len, 127)] == m->hash && confirm(s, vkey, s->len - len, len);
	case LEASH_LSM_ROOT:
		return true;
	}
	return false;
}

/* The first `values` entry of rule `rule` (of the exec rules when `exec`) in set `index`. */
static __always_inline __u32 values_of(__u32 index, bool exec, __u32 rule)
{
	return (((index & (2 * LEASH_LSM_MAX_SLOTS - 1)) * 2 + exec) * LEASH_LSM_MAX_RULES + rule) *
	       LEASH_LSM_MAX_MATCHERS;
}

static __always_inline bool rule_matches(struct scratch *s, struct boundaries *b,
					 const struct leash_lsm_rule *r, __u32 first)
{
	int j;

	for (j = 0; j < LEASH_LSM_MAX_MATCHERS; j++) {
		if (j >= r->nmatch)
			break;
		if (holds(s, b, &r->match[j], first + j) == (bool)r->match[j].negate)
			return false;
	}
	return true;
}

/* --- judging --- */

#define VERDICT_FORBID_READ 1
#define VERDICT_PERMIT_READ 2
#define VERDICT_FORBID_WRITE 4
#define VERDICT_PERMIT_WRITE 8
#define VERDICT_FORBID_EXEC 16
#define VERDICT_PERMIT_EXEC 32

struct judge_ctx {
	struct scratch *s;
	struct boundaries *b;
	const struct leash_lsm_set *set;
	__u32 index;
	__u32 verdict;
};

static long judge_file_rule(__u32 i, void *data)
{
	struct judge_ctx *c = data;
	const struct leash_lsm_rule *r;

	if (i >= c->set->nfile)
		return 1;
	r = &c->set->file[BOUND(i, 63)];
	if (!rule_matches(c->s, c->b, r, values_of(c->index, false, i)))
		return 0;
	if (r->read)
		c->verdict |= r->forbid ? VERDICT_FORBID_READ : VERDICT_PERMIT_READ;
	if (r->write)
		c->verdict |= r->forbid ? VERDICT_FORBID_WRITE : VERDICT_PERMIT_WRITE;
	return 0;
}

/* What the program's path alone says: a forbid without argv matchers denies; so does no
 * permit at all; permits with argv matchers are left to exec.bpf.c. */
static long judge_exec_rule(__u32 i, void *data)
{
	struct judge_ctx *c = data;
	const struct leash_lsm_rule *r;

	if (i >= c->set->nexec)
		return 1;
	r = &c->set->exec[BOUND(i, 63)];
	if (!rule_matches(c->s, c->b, r, values_of(c->index, true, i)))
		return 0;
	if (r->forbid) {
		if (!r->argv)
			c->verdict |= VERDICT_FORBID_EXEC;
	} else {
		c->verdict |= VERDICT_PERMIT_EXEC;
	}
	return 0;
}

static __always_inline bool allows(__u32 verdict, __u8 access)
{
	bool read = access == LEASH_LSM_READ || access == LEASH_LSM_READWRITE;
	bool write = access != LEASH_LSM_READ && access != LEASH_LSM_EXEC;

	if (access == LEASH_LSM_EXEC)
		return !(verdict & VERDICT_FORBID_EXEC) && (verdict & VERDICT_PERMIT_EXEC);
	if (read && ((verdict & VERDICT_FORBID_READ) || !(verdict & VERDICT_PERMIT_READ)))
		return false;
	if (write && ((verdict & VERDICT_FORBID_WRITE) || !(verdict & VERDICT_PERMIT_WRITE)))
		return false;
	return true;
}

struct below_ctx {
	struct scratch *s;
	struct boundaries *b;
	const struct leash_lsm_set *set;
	__u32 index;
	const struct leash_lsm_below *below;
	bool found;
};

/* Whether forbid-write rule i could match something strictly below the hashed directory. */
static long below_rule(__u32 i, void *data)
{
	struct below_ctx *c = data;
	const struct leash_lsm_rule *r;
	__u32 k = BOUND(i, 63);
	int j;

	if (i >= c->set->nfile)
		return 1;
	r = &c->set->file[k];
	if (!r->forbid || !r->write)
		return 0;
	for (j = 0; j < LEASH_LSM_MAX_MATCHERS; j++) {
		const struct leash_lsm_matcher *m = &r->match[j];
		bool strictly = c->below && (c->below->mask[j] & (1ULL << k));
		bool ok;

		if (j >= r->nmatch)
			break;
		switch (m->kind) {
		case LEASH_LSM_EXACT:
			ok = m->negate || strictly;
			break;
		case LEASH_LSM_PREFIX:
		case LEASH_LSM_ROOT:
			ok = m->negate ? !holds(c->s, c->b, m, values_of(c->index, false, k) + j)
				       : strictly || holds(c->s, c->b, m, values_of(c->index, false, k) + j);
			break;
		default:
			ok = true;
		}
		if (!ok)
			return 0;
	}
	c->found = true;
	return 1;
}

static __always_inline bool forbids_below(struct scratch *s, struct boundaries *b,
			  const struct leash_lsm_set *set, __u32 index)
{
	struct leash_lsm_below_key key = { .set = index, .len = s->len, .hash = s->full };
	struct below_ctx c = { .s = s, .b = b, .set = set, .index = index };

	c.below = bpf_map_lookup_elem(&below, &key);
	bpf_loop(LEASH_LSM_MAX_RULES, below_rule, &c, 0);
	return c.found;
}

#endif
