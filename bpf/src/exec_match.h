/* Argument matching for exec.bpf.c: argv split and hashed, `contains*` by keyed hash,
 * `args like` byte by byte, and a rule's argv/args matchers judged. Every loop is a bpf_loop so
 * the verifier checks each body once. Included after the `rules` map and `hash_key`. */
#ifndef LEASH_EXEC_MATCH_H
#define LEASH_EXEC_MATCH_H

#define FNV_PRIME 0x100000001b3ULL

/* x & mask, kept in the register the access uses: clang drops a mask it can prove redundant
 * (an index already checked against a count), and the 6.1 verifier then loses the bound. */
#define EXEC_BOUND(x, mask)                              \
	({                                               \
		__u64 __v = (x);                         \
		asm volatile("%0 &= " #mask : "+r"(__v)); \
		__v;                                     \
	})
_Static_assert(LEASH_EXEC_MAX_ARGS == 64, "ARG_SLOT masks with LEASH_EXEC_MAX_ARGS - 1");
#define ARG_SLOT(n) EXEC_BOUND(n, 63)

struct scratch {
	char buf[LEASH_EXEC_ARGV_BYTES];
	__u64 hash[LEASH_EXEC_MAX_ARGS];
	__u32 len[LEASH_EXEC_MAX_ARGS];
	__u32 off[LEASH_EXEC_MAX_ARGS]; /* where each entry of argv[1..] starts in buf */
	char name[256];                 /* bprm->filename */
	__u32 first;   /* the first entry of argv[1..] the rules being judged see */
	__u32 text_at; /* where their joined args start in buf */
	__u32 size;    /* bytes of buf read */
	__u32 nargs;   /* entries of argv[1..] */
	__u32 seen;    /* strings ended so far, argv[0] included */
	__u32 start;   /* offset of the string being hashed */
	__u8 overflow;
	__u64 h;
};

struct ctx_scratch {
	struct scratch *s;
};

/* Splits the argv area into strings and hashes each of argv[1..]. */
static long parse_byte(__u32 i, void *data)
{
	struct scratch *s = ((struct ctx_scratch *)data)->s;
	__u32 n;
	char c;

	if (i >= s->size)
		return 1;
	c = s->buf[i & (LEASH_EXEC_ARGV_BYTES - 1)];
	if (c != 0) {
		s->h = (s->h ^ (__u8)c) * FNV_PRIME;
		return 0;
	}
	if (s->seen > 0) { /* past argv[0] */
		n = s->nargs;
		if (n >= LEASH_EXEC_MAX_ARGS) {
			s->overflow = 1;
			return 1;
		}
		s->hash[ARG_SLOT(n)] = s->h;
		s->len[ARG_SLOT(n)] = i - s->start;
		s->off[ARG_SLOT(n)] = s->start;
		s->nargs = n + 1;
	}
	s->seen++;
	s->start = i + 1;
	s->h = hash_key;
	return 0;
}

struct ctx_value {
	const struct scratch *s;
	__u64 hash;
	__u32 len;
	bool present;
};

static long compare_arg(__u32 k, void *data)
{
	struct ctx_value *v = data;
	const struct scratch *s = v->s;

	if (k >= s->nargs)
		return 1;
	if (k < s->first)
		return 0;
	if (s->hash[ARG_SLOT(k)] == v->hash && s->len[ARG_SLOT(k)] == v->len) {
		v->present = true;
		return 1;
	}
	return 0;
}

struct ctx_contains {
	const struct scratch *s;
	const struct leash_exec_matcher *m;
	bool any;     /* for containsAny: stop at the first value present */
	bool decided; /* a value was present (any) or missing (all) */
};

/* Looks value j up among argv[1..]; stops at the first one that settles the matcher. */
static long check_value(__u32 j, void *data)
{
	struct ctx_contains *c = data;
	struct ctx_value v = { .s = c->s };

	if (j >= c->m->count)
		return 1;
	v.hash = c->m->hash[j & (LEASH_EXEC_MAX_VALUES - 1)];
	v.len = c->m->len[j & (LEASH_EXEC_MAX_VALUES - 1)];
	bpf_loop(LEASH_EXEC_MAX_ARGS, compare_arg, &v, 0);
	if (v.present == c->any) {
		c->decided = true;
		return 1;
	}
	return 0;
}

/* The joined args (argv[1..] with single spaces) at `pos`. */
static char joined_at(const struct scratch *s, __u32 pos)
{
	char c = s->buf[(s->text_at + pos) & (LEASH_EXEC_ARGV_BYTES - 1)];

	return c == 0 ? ' ' : c;
}

struct ctx_part {
	const struct scratch *s;
	const char *part;
	__u32 len;
	__u32 pos;
	bool differs;
};

static long compare_byte(__u32 i, void *data)
{
	struct ctx_part *p = data;

	if (i >= p->len)
		return 1;
	if (joined_at(p->s, p->pos + i) != p->part[i & (LEASH_EXEC_MAX_PART - 1)]) {
		p->differs = true;
		return 1;
	}
	return 0;
}

/* Whether part `j` of `m` lies in the joined args at `pos` (the caller keeps it inside). */
static bool part_at(const struct scratch *s, const struct leash_exec_matcher *m, __u32 j,
		    __u32 pos)
{
	struct ctx_part p = {
		.s = s,
		.part = m->part[j & (LEASH_EXEC_MAX_VALUES - 1)],
		.len = m->len[j & (LEASH_EXEC_MAX_VALUES - 1)],
		.pos = pos,
	};

	bpf_loop(LEASH_EXEC_MAX_PART, compare_byte, &p, 0);
	return !p.differs;
}

struct ctx_find {
	const struct scratch *s;
	const struct leash_exec_matcher *m;
	__u32 part;
	__u32 from;
	__u32 last; /* the last position the part may start at */
	__u32 at;   /* where it was found, or ~0 */
};

static long find_part(__u32 i, void *data)
{
	struct ctx_find *f = data;
	__u32 pos = f->from + i;

	if (pos > f->last)
		return 1;
	if (part_at(f->s, f->m, f->part, pos)) {
		f->at = pos;
		return 1;
	}
	return 0;
}

struct ctx_middle {
	const struct scratch *s;
	const struct leash_exec_matcher *m;
	__u32 pos;   /* where the next part may start */
	__u32 limit; /* where the last part starts */
	bool missing;
};

/* Finds middle part 1 + i at its leftmost place after the previous one. */
static long find_middle(__u32 i, void *data)
{
	struct ctx_middle *c = data;
	__u32 j = (i + 1) & (LEASH_EXEC_MAX_VALUES - 1);
	__u32 len = c->m->len[j];
	struct ctx_find f = { .s = c->s, .m = c->m, .part = j, .from = c->pos, .at = ~0U };

	if (i + 2 >= c->m->count)
		return 1;
	if (c->pos + len > c->limit) {
		c->missing = true;
		return 1;
	}
	f.last = c->limit - len;
	bpf_loop(LEASH_EXEC_ARGV_BYTES, find_part, &f, 0);
	if (f.at == ~0U) {
		c->missing = true;
		return 1;
	}
	c->pos = f.at + len;
	return 0;
}

/* Cedar `like`: the first part starts the text, the last ends it, the others follow in order
 * between them; the leftmost place of each middle part is as good as any. */
static bool args_like(struct scratch *s, const struct leash_exec_matcher *m)
{
	__u32 n = m->count, text, first, last;
	struct ctx_middle c = { .s = s, .m = m };

	text = s->nargs > s->first && s->size > s->text_at ? s->size - 1 - s->text_at : 0;
	if (n == 0 || n > LEASH_EXEC_MAX_VALUES)
		return false;
	first = m->len[0];
	if (n == 1)
		return text == first && part_at(s, m, 0, 0);
	last = m->len[(n - 1) & (LEASH_EXEC_MAX_VALUES - 1)];
	if (text < first + last || !part_at(s, m, 0, 0) || !part_at(s, m, n - 1, text - last))
		return false;

	c.pos = first;
	c.limit = text - last;
	bpf_loop(LEASH_EXEC_MAX_VALUES, find_middle, &c, 0);
	return !c.missing;
}

static bool matcher_holds(struct scratch *s, const struct leash_exec_matcher *m)
{
	struct ctx_contains c = { .s = s, .m = m, .any = m->kind == LEASH_EXEC_CONTAINS_ANY };
	bool holds;

	if (m->kind == LEASH_EXEC_ARGS_LIKE) {
		holds = args_like(s, m);
	} else {
		bpf_loop(LEASH_EXEC_MAX_VALUES, check_value, &c, 0);
		/* any: some value was present; all: no value was missing */
		holds = c.any ? c.decided : !c.decided;
	}
	return m->negate ? !holds : holds;
}

struct ctx_rule {
	struct scratch *s;
	const struct leash_exec_rule *rule;
	bool fails;
};

static long check_matcher(__u32 k, void *data)
{
	struct ctx_rule *r = data;

	if (k >= r->rule->matcher_count)
		return 1;
	if (!matcher_holds(r->s, &r->rule->matchers[k & (LEASH_EXEC_MAX_MATCHERS - 1)])) {
		r->fails = true;
		return 1;
	}
	return 0;
}

struct ctx_judge {
	struct scratch *s;
	__u32 base;
	__u32 count;
	__u64 candidates; /* rules whose argv matchers are to be checked */
	bool permitted;
	bool forbidden;
};

static long judge_rule(__u32 i, void *data)
{
	struct ctx_judge *j = data;
	struct ctx_rule m = { .s = j->s };
	const struct leash_exec_rule *rule;
	__u32 key = j->base + i;

	if (i >= j->count)
		return 1;
	if (!((j->candidates >> i) & 1))
		return 0;
	rule = bpf_map_lookup_elem(&rules, &key);
	if (!rule)
		return 1;
	m.rule = rule;
	bpf_loop(LEASH_EXEC_MAX_MATCHERS, check_matcher, &m, 0);
	if (m.fails)
		return 0;
	if (rule->forbid) {
		j->forbidden = true;
		return 1; /* a forbid decides at once */
	}
	j->permitted = true;
	return 0;
}

#endif
