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

// Whether one matcher holds for a path (negation applied).
bool PathHolds(const PathMatcher& m, const std::string& path);

// Throws a Napi::TypeError naming `where` when `value` is not a PathMatcher.
PathMatcher ParsePathMatcher(Napi::Env env, Napi::Value value, const std::string& where);

// Throws a Napi::TypeError naming the rule when `value` is not a FileRule[].
FileRuleSet ParseFileRules(Napi::Env env, Napi::Value value);

// Any matching forbid denies; else any matching permit allows; else deny.
bool AllowsRead(const FileRuleSet& rules, const std::string& path);
bool AllowsWrite(const FileRuleSet& rules, const std::string& path);

// The id of a forbid-write rule that could match a path strictly below `dir` (so moving or
// removing `dir` would move or remove what it protects), or "" when none could. Exact and
// prefix matchers are judged by their values; any other matcher is assumed to hold below.
std::string ForbidBelow(const FileRuleSet& rules, const std::string& dir);

}  // namespace leash
