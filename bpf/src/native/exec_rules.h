// Exec rules in C++: program matchers judged here on the canonical path, argv/args matchers
// encoded for exec.bpf.c. The same decision as policies/src/decide.ts's decideExec.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "file_rules.h"

extern "C" {
#include <linux/types.h>

#include "../exec.h"
}

namespace leash {

struct ExecRule {
  std::string id;
  bool forbid;
  std::vector<PathMatcher> program;  // all must hold for the program's canonical path
  leash_exec_rule kernel;            // the argv/args matchers, as exec.bpf.c reads them
};

struct ExecRuleSet {
  std::vector<ExecRule> rules;
  uint64_t forbid_mask = 0;   // rules that are forbids
  uint64_t argv_mask = 0;     // rules with argv/args matchers
  uint64_t unknown_mask = 0;  // rules that may hold for a program no record names
  bool loader_allowed = true; // running the dynamic loader itself (exec is not narrowed)
};

// What the program's path alone says, before its argv is known.
enum class PathVerdict { Deny, Allow, DependsOnArgv };

// Throws a TypeError (shape) or RangeError (past the kernel's bounds) naming the rule when
// `value` is not an ExecRule[] exec.bpf.c can enforce exactly. `hash_key` keys the hashes.
ExecRuleSet ParseExecRules(Napi::Env env, Napi::Value value, uint64_t hash_key);

// Bit i: every program matcher of rule i holds for `path`.
uint64_t ProgramMask(const ExecRuleSet& set, const std::string& path);

PathVerdict JudgePath(const ExecRuleSet& set, uint64_t mask);

// The keyed FNV-1a hash exec.bpf.c computes over each argument.
uint64_t ArgHash(const std::string& text, uint64_t key);

// Whether a canonical path names a dynamic loader (ld-linux*.so*, ld-musl-*.so*, ld64.so*).
bool IsDynamicLoader(const std::string& path);

}  // namespace leash
