/* The layout shared by connect.bpf.c and the addon: rule maps and ring-buffer events. */
#ifndef LEASH_CONNECT_H
#define LEASH_CONNECT_H

/* Rules found through the prefix index: those with a CIDR matcher that is not negated. */
#define LEASH_MAX_INDEXED_RULES 16384
/* Rules scanned in full at every decision: the others (port-only, negated CIDRs only, no
 * matcher at all), and those past LEASH_MAX_CHAIN sharing one prefix. */
#define LEASH_MAX_SCAN_RULES 256
/* Indexed rules that share one prefix (family, length, address), looked at in turn. */
#define LEASH_MAX_CHAIN 32
/* Prefix lengths, in bits of the IPv4-mapped form: 96-128 for IPv4, 0-128 for IPv6. */
#define LEASH_MAX_LENGTHS 129
#define LEASH_MAX_MATCHERS 4
/* Events waiting in the ring buffer before a program wakes the reader; below that the reader
 * drains it on a timer. One wake-up per connect would cost more than the decision itself. */
#define LEASH_EVENT_WAKEUP_BYTES (32 * 1024)

enum leash_matcher_kind {
	LEASH_MATCH_CIDR = 1,
	LEASH_MATCH_PORT = 2,
};

enum leash_effect {
	LEASH_PERMIT = 1,
	LEASH_FORBID = 2,
};

enum leash_decision {
	LEASH_ALLOW = 1,
	LEASH_DENY = 2,
};

/*
 * Decision, the same as Cedar's and policies/src/ir.ts: a connect is denied when any
 * forbid rule matches, else allowed when any permit rule matches, else denied.
 * Order never matters; a rule matches when all of its matchers hold.
 *
 * Addresses are IPv4-mapped IPv6 (::ffff:a.b.c.d for IPv4), in network byte order, so
 * one loop serves both families; `family` (4 or 6) keeps a v6 CIDR from matching a v4
 * address, as in Cedar. A CIDR holds when (addr & mask) == net, word by word.
 *
 * A rule with a CIDR matcher that is not negated can only match addresses inside that CIDR,
 * so it is filed under it: `prefixes` maps {generation, family, length, masked address} to a
 * chain of such rules, stored one after the other in `indexed`; `lengths` lists the prefix
 * lengths in use per generation and family. A decision looks up the endpoint's address
 * masked to each length in use (at most 33 for IPv4, 129 for IPv6) and judges every rule of
 * each chain found, matchers and all, then scans `scan_rules` (the rules without such a
 * CIDR) in full. The cost grows with the lengths in use and the chains met, not with the
 * number of rules.
 *
 * Two rule sets (generations) live side by side: an update fills the idle one and flips
 * `active` last, so a decision reads the old or the new set whole. Before it refills a set,
 * the addon waits until no program still reads it (an update of the map-of-maps `quiesce`
 * returns only after every BPF program running at the time has finished).
 */
struct leash_matcher {
	__u8 kind;
	__u8 negate;
	__u8 family;
	__u8 pad;
	__u16 port_lo; /* host byte order, inclusive */
	__u16 port_hi;
	__u32 net[4];
	__u32 mask[4];
};

struct leash_rule {
	__u8 effect;
	__u8 matcher_count;
	__u8 pad[2];
	struct leash_matcher matchers[LEASH_MAX_MATCHERS];
};

struct leash_prefix_key {
	__u8 generation;
	__u8 family; /* 4 or 6 */
	__u8 bits;   /* prefix length in the IPv4-mapped form (96 + length for IPv4) */
	__u8 pad;
	__u32 addr[4]; /* masked to `bits`, network byte order */
};

/* Rules filed under one prefix: `indexed` keys generation * LEASH_MAX_INDEXED_RULES + first
 * up to + first + count - 1. */
struct leash_chain {
	__u32 first;
	__u32 count;
};

/* Prefix lengths in use for one generation and family (slot generation * 2 + (family == 6)),
 * in no particular order. */
struct leash_lengths {
	__u32 count;
	__u8 bits[LEASH_MAX_LENGTHS];
	__u8 pad[3];
};

enum leash_protocol {
	LEASH_TCP = 1,
	LEASH_UDP = 2,
};

struct leash_net_event {
	__u32 pid;
	__u32 addr[4]; /* IPv4-mapped for family 4, network byte order */
	__u16 port;    /* host byte order */
	__u8 family;
	__u8 protocol;
	__u8 decision;
	__u8 pad[3];
	char comm[16];
};

#endif
