#include "lsm_rules.h"

#include <algorithm>
#include <cstring>

#include "file_rules.h"

namespace leash {

namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

}  // namespace

uint64_t LsmPathHash(const std::string& text, uint64_t key, bool backwards) {
  uint64_t h = key;
  for (size_t i = 0; i < text.size(); i++) {
    unsigned char c = text[backwards ? text.size() - 1 - i : i];
    h = (h ^ c) * kFnvPrime;
  }
  return h;
}

namespace {

leash_lsm_matcher EncodeMatcher(Napi::Env env, const PathMatcher& m, uint64_t key,
                                const std::string& where) {
  leash_lsm_matcher out;
  memset(&out, 0, sizeof out);
  if (m.value.empty() || m.value.size() >= LEASH_LSM_PATH_BYTES) {
    throw Napi::RangeError::New(env, where + ": a path matcher value must hold 1 to " +
                                         std::to_string(LEASH_LSM_PATH_BYTES - 1) + " bytes");
  }
  switch (m.kind) {
    case PathMatcher::Kind::Exact:
      out.kind = LEASH_LSM_EXACT;
      break;
    case PathMatcher::Kind::Prefix:
      out.kind = m.value == "/" ? LEASH_LSM_ROOT : LEASH_LSM_PREFIX;
      break;
    case PathMatcher::Kind::Suffix:
      if (m.value.size() > LEASH_LSM_SUFFIX_BYTES) {
        throw Napi::RangeError::New(env, where + ": the suffix \"" + m.value + "\" is longer " +
                                             "than the " + std::to_string(LEASH_LSM_SUFFIX_BYTES) +
                                             " bytes the lsm backend compares");
      }
      out.kind = LEASH_LSM_SUFFIX;
      break;
  }
  out.len = static_cast<__u32>(m.value.size());
  out.hash = LsmPathHash(m.value, key, m.kind == PathMatcher::Kind::Suffix);
  out.negate = m.negate ? 1 : 0;
  return out;
}

void CheckCounts(Napi::Env env, size_t rules, size_t matchers, const std::string& what,
                 const std::string& where) {
  if (rules > LEASH_LSM_MAX_RULES) {
    throw Napi::RangeError::New(env, std::to_string(rules) + " " + what + " rules exceed the " +
                                         std::to_string(LEASH_LSM_MAX_RULES) +
                                         " the lsm backend holds; simplify the policy");
  }
  if (matchers > LEASH_LSM_MAX_MATCHERS) {
    throw Napi::RangeError::New(env, where + " has " + std::to_string(matchers) +
                                         " path matchers; the lsm backend holds at most " +
                                         std::to_string(LEASH_LSM_MAX_MATCHERS) + " per rule");
  }
}

// The exec rules' program matchers; argv/args matchers only mark the rule (exec.bpf.c's part).
// The `values` entry of matcher `j` of rule `rule` in set `index` (lsm_match.h's values_of).
uint32_t ValueEntry(uint32_t index, bool exec, size_t rule, size_t j) {
  uint32_t set = index & (2 * LEASH_LSM_MAX_SLOTS - 1);
  return static_cast<uint32_t>(((set * 2 + (exec ? 1 : 0)) * LEASH_LSM_MAX_RULES + rule) *
                                   LEASH_LSM_MAX_MATCHERS +
                               j);
}

void EncodeExecRules(Napi::Env env, Napi::Value value, uint64_t key, uint32_t index,
                     leash_lsm_set* set, LsmEncoded* out) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "exec rules must be an array");
  Napi::Array array = value.As<Napi::Array>();
  CheckCounts(env, array.Length(), 0, "Exec", "");
  for (uint32_t i = 0; i < array.Length(); i++) {
    std::string where = "exec rule " + std::to_string(i);
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
    Napi::Object obj = item.As<Napi::Object>();
    Napi::Value id = obj.Get("id");
    where += " (" + (id.IsString() ? id.As<Napi::String>().Utf8Value() : "?") + ")";
    Napi::Value effect = obj.Get("effect");
    std::string e = effect.IsString() ? effect.As<Napi::String>().Utf8Value() : "";
    if (e != "permit" && e != "forbid") {
      throw Napi::TypeError::New(env, where + ": effect must be permit or forbid");
    }
    Napi::Value match = obj.Get("match");
    if (!match.IsArray()) throw Napi::TypeError::New(env, where + ": match must be an array");

    leash_lsm_rule& rule = set->exec[i];
    rule.forbid = e == "forbid";
    Napi::Array matchers = match.As<Napi::Array>();
    for (uint32_t j = 0; j < matchers.Length(); j++) {
      Napi::Value mv = matchers.Get(j);
      if (!mv.IsObject()) throw Napi::TypeError::New(env, where + ": a matcher must be an object");
      Napi::Object mo = mv.As<Napi::Object>();
      Napi::Value on = mo.Get("on");
      std::string kind = on.IsString() ? on.As<Napi::String>().Utf8Value() : "";
      if (kind == "argv" || kind == "args") {
        rule.argv = 1;
        continue;
      }
      if (kind != "program") {
        throw Napi::TypeError::New(env, where + ": unknown exec matcher `" + kind +
                                            "` (expected program, argv or args)");
      }
      CheckCounts(env, 0, rule.nmatch + 1u, "Exec", where);
      PathMatcher m = ParsePathMatcher(env, mo.Get("path"), where);
      out->values.push_back({ValueEntry(index, true, i, rule.nmatch), m.value});
      rule.match[rule.nmatch++] = EncodeMatcher(env, m, key, where);
    }
  }
  set->nexec = array.Length();
}

// The strict ancestors of a path: `/`, then each prefix that ends before a `/`.
std::vector<std::string> Ancestors(const std::string& path) {
  std::vector<std::string> out;
  if (path.size() > 1) out.push_back("/");
  for (size_t i = 1; i < path.size(); i++) {
    if (path[i] == '/') out.push_back(path.substr(0, i));
  }
  return out;
}

}  // namespace

LsmEncoded EncodeLsmRules(Napi::Env env, Napi::Value file_rules, Napi::Value exec_rules,
                          uint64_t key, uint32_t index, leash_lsm_set* set) {
  FileRuleSet files = ParseFileRules(env, file_rules);
  CheckCounts(env, files.size(), 0, "file", "");
  LsmEncoded out;
  std::vector<LsmBelowEntry>& below = out.below;
  for (size_t i = 0; i < files.size(); i++) {
    const FileRule& r = files[i];
    std::string where = "file rule " + std::to_string(i) + " (" + r.id + ")";
    CheckCounts(env, 0, r.match.size(), "file", where);
    leash_lsm_rule& rule = set->file[i];
    rule.forbid = r.forbid;
    rule.read = r.read;
    rule.write = r.write;
    rule.nmatch = static_cast<__u8>(r.match.size());
    for (size_t j = 0; j < r.match.size(); j++) {
      const PathMatcher& m = r.match[j];
      rule.match[j] = EncodeMatcher(env, m, key, where);
      out.values.push_back({ValueEntry(index, false, i, j), m.value});
      if (m.kind == PathMatcher::Kind::Suffix || m.negate || m.value == "/") continue;
      for (const std::string& dir : Ancestors(m.value)) {
        leash_lsm_below_key k = {index, static_cast<__u32>(dir.size()),
                                 LsmPathHash(dir, key, false)};
        auto found = std::find_if(below.begin(), below.end(), [&](const LsmBelowEntry& e) {
          return e.key.len == k.len && e.key.hash == k.hash;
        });
        if (found == below.end()) {
          below.push_back({k, leash_lsm_below{}});
          found = below.end() - 1;
        }
        found->masks.mask[j] |= 1ULL << i;
      }
    }
  }
  set->nfile = static_cast<__u32>(files.size());
  EncodeExecRules(env, exec_rules, key, index, set, &out);

  // How far the programs hash a path backwards: the longest suffix matcher.
  for (const leash_lsm_rule* rules : {set->file, set->exec}) {
    for (size_t i = 0; i < LEASH_LSM_MAX_RULES; i++) {
      for (size_t j = 0; j < rules[i].nmatch; j++) {
        const leash_lsm_matcher& m = rules[i].match[j];
        if (m.kind == LEASH_LSM_SUFFIX && m.len > set->max_suffix) {
          set->max_suffix = static_cast<__u8>(m.len);
        }
      }
    }
  }
  return out;
}

}  // namespace leash
