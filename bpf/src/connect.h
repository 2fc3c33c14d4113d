/* The layout shared by connect.bpf.c and the addon: rule maps and ring-buffer events. */
#ifndef LEASH_CONNECT_H
#define LEASH_CONNECT_H

#define LEASH_MAX_RULES 256
#define LEASH_MAX_MATCHERS 4

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
 * Maps: `rules` holds two rule sets of LEASH_MAX_RULES slots each (slot index
 * generation * LEASH_MAX_RULES + i); `rule_counts[g]` says how many slots of set g are
 * in use; `active[0]` names the set programs read. An update fills the idle set and
 * its count, then flips `active` last, so programs see the old or the new set whole
 * (a program still reading a set when a second update refills it could see a mix; programs
 * run for microseconds, updates come from a person editing a policy).
 *
 * Addresses are IPv4-mapped IPv6 (::ffff:a.b.c.d for IPv4), in network byte order, so
 * one loop serves both families; `family` (4 or 6) keeps a v6 CIDR from matching a v4
 * address, as in Cedar. A CIDR holds when (addr & mask) == net, word by word.
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
