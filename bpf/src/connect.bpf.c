/* Cgroup socket programs: decide connects and UDP sends by the session's rules, and keep
 * sandboxed tasks to the socket kinds they need. See connect.h for the rule layout. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "connect.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define IPPROTO_ICMP 1
#define IPPROTO_UDP 17
#define IPPROTO_ICMPV6 58

char LICENSE[] SEC("license") = "GPL";

/* The rules without a CIDR to file them under, scanned in full: two sets of
 * LEASH_MAX_SCAN_RULES slots (slot generation * LEASH_MAX_SCAN_RULES + i). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * LEASH_MAX_SCAN_RULES);
	__type(key, __u32);
	__type(value, struct leash_rule);
} scan_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} scan_counts SEC(".maps");

/* The rules filed under a prefix, chain after chain (see connect.h); allocated as written, so
 * a guard with few rules holds little memory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * LEASH_MAX_INDEXED_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct leash_rule);
} indexed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * LEASH_MAX_INDEXED_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct leash_prefix_key);
	__type(value, struct leash_chain);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct leash_lengths);
} lengths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} active SEC(".maps");

/* Never read by the programs: the addon updates `quiesce`, a map of maps, to wait until no
 * program still reads the set it is about to refill (the kernel returns from such an update
 * only after the programs running at the time have finished). */
struct quiesce_slot {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} quiesce_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct quiesce_slot);
} quiesce SEC(".maps");

/* Cgroups (by id) below the attached one whose tasks another guard judges: a principal of the
 * session in its own leaf, whose guard is attached there. Programs of both run for its tasks
 * (cgroup links combine as all-must-allow), so this one stands aside for them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u8);
} delegated SEC(".maps");

/* Events the ring buffer could not take. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct endpoint {
	__u32 addr[4];
	__u16 port;
	__u8 family;
};

/* What the rules met so far say. */
struct verdict {
	bool permitted;
	bool forbidden;
};

struct scan {
	const struct endpoint *endpoint;
	struct verdict verdict;
	__u32 base;
	__u32 count;
};

/*
 * The loops below keep their position in bpf_loop's `index`, never in a counter of their own
 * context: kernels before 6.7 (Debian's 6.1) verify a callback once, with the context the
 * caller set, so a branch on a counter that starts at a constant looks never taken there and
 * is removed as dead code.
 */

/* The walk over the prefix lengths in use (`index`: the entry of `lengths`). */
struct search {
	const struct endpoint *endpoint;
	struct verdict verdict;
	__u32 generation;
	__u32 lengths_slot;
};

/* The rules of one chain (`index`: the rule's place in it). */
struct chain_walk {
	const struct endpoint *endpoint;
	struct verdict verdict;
	__u32 base; /* the `indexed` key of the chain's first rule */
	__u32 count;
};

static bool matcher_holds(const struct leash_matcher *m, const struct endpoint *e)
{
	bool holds;

	if (m->kind == LEASH_MATCH_PORT) {
		holds = e->port >= m->port_lo && e->port <= m->port_hi;
	} else {
		holds = m->family == e->family &&
			(e->addr[0] & m->mask[0]) == m->net[0] &&
			(e->addr[1] & m->mask[1]) == m->net[1] &&
			(e->addr[2] & m->mask[2]) == m->net[2] &&
			(e->addr[3] & m->mask[3]) == m->net[3];
	}
	return m->negate ? !holds : holds;
}

/* Judges one rule; returns 1 when the decision is settled (a forbid matched). */
static long judge(const struct leash_rule *rule, const struct endpoint *e, struct verdict *v)
{
	bool matches = true;

#pragma unroll
	for (int i = 0; i < LEASH_MAX_MATCHERS; i++) {
		if (i < rule->matcher_count && !matcher_holds(&rule->matchers[i], e))
			matches = false;
	}
	if (!matches)
		return 0;
	if (rule->effect == LEASH_FORBID) {
		v->forbidden = true;
		return 1;
	}
	v->permitted = true;
	return 0;
}

static long scan_rule(__u32 index, void *data)
{
	struct scan *scan = data;
	__u32 key = scan->base + index;
	const struct leash_rule *rule;

	if (index >= scan->count)
		return 1;
	rule = bpf_map_lookup_elem(&scan_rules, &key);
	if (!rule)
		return 1;
	return judge(rule, scan->endpoint, &scan->verdict);
}

/* Word `word` (0-3) of a `bits`-long prefix mask, network byte order. */
static __u32 mask_word(__u32 bits, int word)
{
	int b = (int)bits - 32 * word;

	if (b <= 0)
		return 0;
	if (b >= 32)
		return 0xffffffff;
	return bpf_htonl(~0U << (32 - b));
}

static long chain_rule(__u32 index, void *data)
{
	struct chain_walk *w = data;
	__u32 key = w->base + index;
	const struct leash_rule *rule;

	if (index >= w->count)
		return 1;
	rule = bpf_map_lookup_elem(&indexed, &key);
	if (!rule) {
		/* A chain names a rule that is not there: the set is damaged; deny. */
		w->verdict.forbidden = true;
		return 1;
	}
	return judge(rule, w->endpoint, &w->verdict);
}

/* Looks the endpoint's address up masked to the index-th prefix length in use, and judges the
 * chain filed there. */
static long search_length(__u32 index, void *data)
{
	struct search *s = data;
	const struct endpoint *e = s->endpoint;
	const struct leash_lengths *in_use;
	const struct leash_chain *chain;
	struct leash_prefix_key key;
	struct chain_walk walk;
	__u64 entry, stop;
	__u32 bits;

	in_use = bpf_map_lookup_elem(&lengths, &s->lengths_slot);
	if (!in_use || index >= in_use->count)
		return 1;
	/* Bounded in the 64-bit register the access uses, so that the verifier sees it. */
	entry = index;
	barrier_var(entry);
	if (entry >= LEASH_MAX_LENGTHS)
		return 1;
	bits = in_use->bits[entry];

	key.generation = s->generation;
	key.family = e->family;
	key.bits = bits;
	key.pad = 0;
#pragma unroll
	for (int w = 0; w < 4; w++)
		key.addr[w] = e->addr[w] & mask_word(bits, w);
	chain = bpf_map_lookup_elem(&prefixes, &key);
	if (!chain)
		return 0;

	walk.endpoint = e;
	walk.verdict = s->verdict;
	walk.base = s->generation * LEASH_MAX_INDEXED_RULES + chain->first;
	walk.count = chain->count;
	bpf_loop(LEASH_MAX_CHAIN, chain_rule, &walk, 0);
	s->verdict = walk.verdict;
	/* 1 stops the walk: a forbid decides at once. Masked after the barrier, so that the
	 * verifier sees a callback result of 0 or 1. */
	stop = walk.verdict.forbidden;
	barrier_var(stop);
	return stop & 1;
}

static int decide(const struct endpoint *e, __u8 protocol)
{
	__u32 zero = 0, generation, *active_set, *count;
	struct search search = { .endpoint = e };
	struct scan scan = { .endpoint = e };
	struct leash_net_event *event;
	__u64 pending;
	__u8 decision;
	__u64 cgroup = bpf_get_current_cgroup_id();

	if (bpf_map_lookup_elem(&delegated, &cgroup))
		return 1;
	active_set = bpf_map_lookup_elem(&active, &zero);
	if (!active_set)
		return 0;
	generation = *active_set & 1;

	search.generation = generation;
	search.lengths_slot = generation * 2 + (e->family == 6 ? 1 : 0);
	bpf_loop(LEASH_MAX_LENGTHS, search_length, &search, 0);

	scan.verdict = search.verdict;
	if (!scan.verdict.forbidden) {
		count = bpf_map_lookup_elem(&scan_counts, &generation);
		if (!count)
			return 0;
		scan.base = generation * LEASH_MAX_SCAN_RULES;
		scan.count = *count;
		bpf_loop(LEASH_MAX_SCAN_RULES, scan_rule, &scan, 0);
	}
	decision = !scan.verdict.forbidden && scan.verdict.permitted ? LEASH_ALLOW : LEASH_DENY;

	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (event) {
		event->pid = bpf_get_current_pid_tgid() >> 32;
		__builtin_memcpy(event->addr, e->addr, sizeof(event->addr));
		event->port = e->port;
		event->family = e->family;
		event->protocol = protocol;
		event->decision = decision;
		bpf_get_current_comm(event->comm, sizeof(event->comm));
		pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		bpf_ringbuf_submit(event, pending >= LEASH_EVENT_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
									    : BPF_RB_NO_WAKEUP);
	} else {
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);
		if (lost)
			__sync_fetch_and_add(lost, 1);
	}
	return decision == LEASH_ALLOW ? 1 : 0;
}

static __u8 protocol_of(struct bpf_sock_addr *ctx)
{
	return ctx->protocol == IPPROTO_UDP ? LEASH_UDP : LEASH_TCP;
}

static int decide4(struct bpf_sock_addr *ctx, __u8 protocol)
{
	struct endpoint e = {
		.addr = { 0, 0, bpf_htonl(0xffff), ctx->user_ip4 },
		.port = bpf_ntohs(ctx->user_port),
		.family = 4,
	};
	return decide(&e, protocol);
}

/* An IPv4-mapped IPv6 address is judged as the IPv4 address it carries. */
static int decide6(struct bpf_sock_addr *ctx, __u8 protocol)
{
	struct endpoint e = {
		.addr = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] },
		.port = bpf_ntohs(ctx->user_port),
		.family = 6,
	};
	if (e.addr[0] == 0 && e.addr[1] == 0 && e.addr[2] == bpf_htonl(0xffff))
		e.family = 4;
	return decide(&e, protocol);
}

SEC("cgroup/connect4")
int leash_connect4(struct bpf_sock_addr *ctx)
{
	return decide4(ctx, protocol_of(ctx));
}

SEC("cgroup/connect6")
int leash_connect6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, protocol_of(ctx));
}

SEC("cgroup/sendmsg4")
int leash_sendmsg4(struct bpf_sock_addr *ctx)
{
	return decide4(ctx, LEASH_UDP);
}

SEC("cgroup/sendmsg6")
int leash_sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, LEASH_UDP);
}

/* Only inet, inet6, unix and netlink sockets; no raw sockets and no ICMP datagram ones.
 * Kernels run this hook for inet and inet6 sockets only (tested: packet and vsock sockets
 * pass), so the family check takes effect only where a kernel runs it for more; until then
 * other families must be kept out by the sandbox runtime (no CAP_NET_RAW, a seccomp filter). */
SEC("cgroup/sock_create")
int leash_sock_create(struct bpf_sock *ctx)
{
	__u32 family = ctx->family, type = ctx->type, protocol = ctx->protocol;

	if (family != AF_INET && family != AF_INET6 && family != AF_UNIX && family != AF_NETLINK)
		return 0;
	if (family == AF_INET || family == AF_INET6) {
		if (type == SOCK_RAW)
			return 0;
		if (type == SOCK_DGRAM && (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6))
			return 0;
	}
	return 1;
}
