// File rules in C++ for the fanotify answerer: the same decision as policies/src/ir.ts.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace leash {

struct PathMatcher {
  enum class Kind { Exact, Prefix, Suffix };
  Kind kind;
  std::string value;
  bool negate;
};

struct FileRule {
  std::string id;
  bool forbid;
  bool read;
  bool write;
  std::vector<PathMatcher> match;
};

using FileRuleSet = std::vector<FileRule>;

// Throws a Napi::TypeError naming the rule when `value` is not a FileRule[].
FileRuleSet ParseFileRules(Napi::Env env, Napi::Value value);

// Any matching forbid denies; else any matching permit allows; else deny.
bool AllowsRead(const FileRuleSet& rules, const std::string& path);
bool AllowsWrite(const FileRuleSet& rules, const std::string& path);

}  // namespace leash
