#include "exec_rules.h"

#include <cstring>

namespace leash {

namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

std::string StringOf(Napi::Object obj, const char* name) {
  Napi::Value v = obj.Get(name);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}

std::vector<std::string> Strings(Napi::Env env, Napi::Value value, const std::string& where) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, where + " must be an array of strings");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value v = array.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, where + " must be an array of strings");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

leash_exec_matcher* NextMatcher(Napi::Env env, ExecRule* rule, const std::string& where) {
  if (rule->kernel.matcher_count >= LEASH_EXEC_MAX_MATCHERS) {
    throw Napi::RangeError::New(
        env, where + " has more argv/args conditions than the kernel program holds (at most " +
                 std::to_string(LEASH_EXEC_MAX_MATCHERS) + " per policy, a containsAll " +
                 "counting one per " + std::to_string(LEASH_EXEC_MAX_VALUES) +
                 " values); split the policy");
  }
  leash_exec_matcher* m = &rule->kernel.matchers[rule->kernel.matcher_count++];
  memset(m, 0, sizeof *m);
  return m;
}

void AddContains(Napi::Env env, ExecRule* rule, uint8_t kind, bool negate,
                 const std::vector<std::string>& values, size_t from, size_t count,
                 uint64_t key, const std::string& where) {
  leash_exec_matcher* m = NextMatcher(env, rule, where);
  m->kind = kind;
  m->negate = negate ? 1 : 0;
  m->count = static_cast<uint8_t>(count);
  for (size_t j = 0; j < count; j++) {
    const std::string& v = values[from + j];
    m->hash[j] = ArgHash(v, key);
    m->len[j] = static_cast<uint32_t>(v.size());
  }
}

void ParseArgv(Napi::Env env, Napi::Object obj, ExecRule* rule, uint64_t key,
               const std::string& where) {
  std::string op = StringOf(obj, "op");
  bool negate = obj.Get("negate").ToBoolean().Value();
  std::vector<std::string> values = Strings(env, obj.Get("values"), where + ": argv values");
  const size_t per = LEASH_EXEC_MAX_VALUES;

  if (op == "contains" || op == "containsAll") {
    // A conjunction splits into several matchers of one rule; its negation does not.
    if (negate && values.size() > per) {
      throw Napi::RangeError::New(env, where + ": a negated containsAll of " +
                                           std::to_string(values.size()) +
                                           " values exceeds the kernel's " +
                                           std::to_string(per) + "; split the policy");
    }
    size_t from = 0;
    do {
      size_t count = std::min(per, values.size() - from);
      AddContains(env, rule, LEASH_EXEC_CONTAINS_ALL, negate, values, from, count, key, where);
      from += count;
    } while (from < values.size());
  } else if (op == "containsAny") {
    if (values.size() > per) {
      throw Napi::RangeError::New(env, where + ": containsAny of " +
                                           std::to_string(values.size()) + " values exceeds the " +
                                           "kernel's " + std::to_string(per) +
                                           "; write several policies instead");
    }
    AddContains(env, rule, LEASH_EXEC_CONTAINS_ANY, negate, values, 0, values.size(), key, where);
  } else {
    throw Napi::TypeError::New(env, where + ": unknown argv op `" + op +
                                        "` (expected contains, containsAll or containsAny)");
  }
}

void ParseArgs(Napi::Env env, Napi::Value value, ExecRule* rule, const std::string& where) {
  if (!value.IsObject()) throw Napi::TypeError::New(env, where + ": args needs a string matcher");
  Napi::Object sm = value.As<Napi::Object>();
  std::string kind = StringOf(sm, "kind");
  std::vector<std::string> parts;
  if (kind == "equals") {
    Napi::Value v = sm.Get("value");
    if (!v.IsString()) throw Napi::TypeError::New(env, where + ": equals needs a string value");
    parts.push_back(v.As<Napi::String>().Utf8Value());
  } else if (kind == "like") {
    parts = Strings(env, sm.Get("parts"), where + ": like parts");
    if (parts.empty()) throw Napi::TypeError::New(env, where + ": like needs at least one part");
  } else {
    throw Napi::TypeError::New(env, where + ": unknown string matcher kind `" + kind +
                                        "` (expected equals or like)");
  }
  if (parts.size() > LEASH_EXEC_MAX_VALUES) {
    throw Napi::RangeError::New(env, where + ": an args pattern with " +
                                         std::to_string(parts.size() - 1) + " wildcards exceeds " +
                                         "the kernel's " +
                                         std::to_string(LEASH_EXEC_MAX_VALUES - 1));
  }
  leash_exec_matcher* m = NextMatcher(env, rule, where);
  m->kind = LEASH_EXEC_ARGS_LIKE;
  m->negate = sm.Get("negate").ToBoolean().Value() ? 1 : 0;
  m->count = static_cast<uint8_t>(parts.size());
  for (size_t j = 0; j < parts.size(); j++) {
    if (parts[j].size() > LEASH_EXEC_MAX_PART) {
      throw Napi::RangeError::New(env, where + ": the args text `" + parts[j] + "` is " +
                                           std::to_string(parts[j].size()) + " bytes; the " +
                                           "kernel compares at most " +
                                           std::to_string(LEASH_EXEC_MAX_PART) +
                                           " between wildcards");
    }
    memcpy(m->part[j], parts[j].data(), parts[j].size());
    m->len[j] = static_cast<uint32_t>(parts[j].size());
  }
}

}  // namespace

uint64_t ArgHash(const std::string& text, uint64_t key) {
  uint64_t h = key;
  for (unsigned char c : text) h = (h ^ c) * kFnvPrime;
  return h;
}

ExecRuleSet ParseExecRules(Napi::Env env, Napi::Value value, uint64_t hash_key) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "exec rules must be an array");
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() > LEASH_EXEC_MAX_RULES) {
    throw Napi::RangeError::New(env, std::to_string(array.Length()) + " exec rules exceed the " +
                                         "kernel's " + std::to_string(LEASH_EXEC_MAX_RULES) +
                                         "; simplify the policy's Exec policies");
  }

  ExecRuleSet set;
  bool permit_all = false;
  for (uint32_t i = 0; i < array.Length(); i++) {
    std::string where = "exec rule " + std::to_string(i);
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
    Napi::Object obj = item.As<Napi::Object>();
    ExecRule rule;
    rule.id = StringOf(obj, "id");
    where += " (" + rule.id + ")";
    std::string effect = StringOf(obj, "effect");
    if (effect != "permit" && effect != "forbid") {
      throw Napi::TypeError::New(env, where + ": effect must be permit or forbid");
    }
    rule.forbid = effect == "forbid";
    memset(&rule.kernel, 0, sizeof rule.kernel);
    rule.kernel.forbid = rule.forbid ? 1 : 0;

    Napi::Value match = obj.Get("match");
    if (!match.IsArray()) throw Napi::TypeError::New(env, where + ": match must be an array");
    Napi::Array matchers = match.As<Napi::Array>();
    for (uint32_t j = 0; j < matchers.Length(); j++) {
      Napi::Value mv = matchers.Get(j);
      if (!mv.IsObject()) throw Napi::TypeError::New(env, where + ": a matcher must be an object");
      Napi::Object mo = mv.As<Napi::Object>();
      std::string on = StringOf(mo, "on");
      if (on == "program") {
        rule.program.push_back(ParsePathMatcher(env, mo.Get("path"), where));
      } else if (on == "argv") {
        ParseArgv(env, mo, &rule, hash_key, where);
      } else if (on == "args") {
        ParseArgs(env, mo.Get("match"), &rule, where);
      } else {
        throw Napi::TypeError::New(env, where + ": unknown exec matcher `" + on +
                                            "` (expected program, argv or args)");
      }
    }

    uint64_t bit = 1ULL << i;
    if (rule.forbid) set.forbid_mask |= bit;
    if (rule.kernel.matcher_count > 0) set.argv_mask |= bit;
    // An unknown program: a forbid naming programs may be about it, a permit naming them not.
    if (rule.forbid || rule.program.empty()) set.unknown_mask |= bit;
    if (!rule.forbid && rule.program.empty() && rule.kernel.matcher_count == 0) permit_all = true;
    set.rules.push_back(std::move(rule));
  }
  set.loader_allowed = permit_all && set.forbid_mask == 0;
  return set;
}

uint64_t ProgramMask(const ExecRuleSet& set, const std::string& path) {
  if (path.empty()) return set.unknown_mask;
  uint64_t mask = 0;
  for (size_t i = 0; i < set.rules.size(); i++) {
    bool holds = true;
    for (const PathMatcher& m : set.rules[i].program) holds = holds && PathHolds(m, path);
    if (holds) mask |= 1ULL << i;
  }
  return mask;
}

PathVerdict JudgePath(const ExecRuleSet& set, uint64_t mask) {
  uint64_t direct = mask & ~set.argv_mask;
  if (direct & set.forbid_mask) return PathVerdict::Deny;
  if ((mask & ~set.forbid_mask) == 0) return PathVerdict::Deny;  // no permit can match
  if ((mask & set.argv_mask) == 0) return PathVerdict::Allow;
  return PathVerdict::DependsOnArgv;
}

bool IsDynamicLoader(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  bool looks = name.rfind("ld-linux", 0) == 0 || name.rfind("ld-musl-", 0) == 0 ||
               name.rfind("ld64.so", 0) == 0 || name.rfind("ld.so", 0) == 0;
  return looks && name.find(".so") != std::string::npos;
}

}  // namespace leash
