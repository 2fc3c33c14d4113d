// Rule sets for lsm.bpf.c: file rules and the program part of exec rules encoded as keyed path
// hashes (src/lsm.h), and the directories whose moving a forbid could forbid.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <linux/types.h>

#include "../lsm.h"
}

namespace leash {

// The keyed FNV-1a hash lsm.bpf.c computes (a suffix is hashed from its last byte).
uint64_t LsmPathHash(const std::string& text, uint64_t key, bool backwards);

struct LsmBelowEntry {
  leash_lsm_below_key key;
  leash_lsm_below masks;
};

// What a set needs beside itself: its `below` entries, and its matchers' bytes by `values`
// entry (src/lsm.h).
struct LsmEncoded {
  std::vector<LsmBelowEntry> below;
  std::vector<std::pair<uint32_t, std::string>> values;
};

// Fills `set` from file rules and exec rules (hashed with `key`) as set `index`
// (slot * 2 + generation); throws a TypeError (shape) or RangeError (past the bounds of
// src/lsm.h) naming the rule.
LsmEncoded EncodeLsmRules(Napi::Env env, Napi::Value files, Napi::Value exec, uint64_t key,
                          uint32_t index, leash_lsm_set* set);

}  // namespace leash
