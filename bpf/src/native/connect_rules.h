// Connect rules as connect.bpf.c holds them: parsed from JavaScript, then filed by prefix.
#pragma once

#include <napi.h>

#include <linux/types.h>

#include <vector>

extern "C" {
#include "../connect.h"
}

namespace leash {

// One rule set laid out for the maps of connect.bpf.c (see connect.h), for no generation yet:
// the keys' `generation` is 0 and `first` counts from the set's first indexed rule.
struct ConnectIndex {
  struct Chain {
    leash_prefix_key key;
    leash_chain chain;
  };
  std::vector<leash_rule> scan;     // judged in full at every decision
  std::vector<leash_rule> indexed;  // chain after chain, in the order of `chains`
  std::vector<Chain> chains;
  leash_lengths lengths[2];  // the prefix lengths in use: [0] IPv4, [1] IPv6
};

// Parses `value`, an array of ConnectRule (policies/src/ir.ts), and files each rule under its
// first CIDR matcher that is not negated. Throws a TypeError naming the rule when one is
// malformed, and a RangeError naming the bound when the set does not fit the kernel's maps.
ConnectIndex BuildConnectIndex(Napi::Env env, Napi::Value value);

}  // namespace leash
