#include "file_rules.h"

namespace leash {

namespace {

bool EndsWith(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// Component-aware: `/work` covers `/work` and `/work/a`, never `/workspace`; `/` covers all.
bool UnderPrefix(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return true;
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

bool PathHolds(const PathMatcher& m, const std::string& path) {
  bool holds = false;
  switch (m.kind) {
    case PathMatcher::Kind::Exact:
      holds = path == m.value;
      break;
    case PathMatcher::Kind::Prefix:
      holds = UnderPrefix(path, m.value);
      break;
    case PathMatcher::Kind::Suffix:
      holds = EndsWith(path, m.value);
      break;
  }
  return m.negate ? !holds : holds;
}

namespace {

bool Matches(const FileRule& rule, const std::string& path) {
  for (const PathMatcher& m : rule.match) {
    if (!PathHolds(m, path)) return false;
  }
  return true;
}

// Whether some path strictly below `dir` can satisfy `m`.
bool HoldsBelow(const PathMatcher& m, const std::string& dir) {
  bool strictly_under = m.value != dir && UnderPrefix(m.value, dir);
  switch (m.kind) {
    case PathMatcher::Kind::Exact:
      return m.negate || strictly_under;
    case PathMatcher::Kind::Prefix:
      // Every path below `dir` lies under the prefix when `dir` does.
      if (m.negate) return !UnderPrefix(dir, m.value);
      return strictly_under || UnderPrefix(dir, m.value);
    case PathMatcher::Kind::Suffix:
      return true;
  }
  return true;
}

bool Allows(const FileRuleSet& rules, const std::string& path, bool write) {
  bool permitted = false;
  for (const FileRule& rule : rules) {
    if (!(write ? rule.write : rule.read) || !Matches(rule, path)) continue;
    if (rule.forbid) return false;
    permitted = true;
  }
  return permitted;
}

std::string StringField(Napi::Env env, Napi::Object obj, const char* name,
                        const std::string& where) {
  Napi::Value v = obj.Get(name);
  if (!v.IsString()) {
    throw Napi::TypeError::New(env, where + ": `" + name + "` must be a string");
  }
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace

PathMatcher ParsePathMatcher(Napi::Env env, Napi::Value value, const std::string& where) {
  if (!value.IsObject()) throw Napi::TypeError::New(env, where + ": a matcher must be an object");
  Napi::Object obj = value.As<Napi::Object>();
  std::string kind = StringField(env, obj, "kind", where);
  PathMatcher m;
  if (kind == "exact") {
    m.kind = PathMatcher::Kind::Exact;
  } else if (kind == "prefix") {
    m.kind = PathMatcher::Kind::Prefix;
  } else if (kind == "suffix") {
    m.kind = PathMatcher::Kind::Suffix;
  } else {
    throw Napi::TypeError::New(env, where + ": unknown path matcher kind `" + kind +
                                        "` (expected exact, prefix or suffix)");
  }
  m.value = StringField(env, obj, "value", where);
  m.negate = obj.Get("negate").ToBoolean().Value();
  return m;
}

FileRuleSet ParseFileRules(Napi::Env env, Napi::Value value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "file rules must be an array");
  Napi::Array array = value.As<Napi::Array>();
  FileRuleSet rules;
  for (uint32_t i = 0; i < array.Length(); i++) {
    std::string where = "file rule " + std::to_string(i);
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
    Napi::Object obj = item.As<Napi::Object>();
    FileRule rule;
    rule.id = StringField(env, obj, "id", where);
    where += " (" + rule.id + ")";

    std::string effect = StringField(env, obj, "effect", where);
    if (effect != "permit" && effect != "forbid") {
      throw Napi::TypeError::New(env, where + ": effect must be permit or forbid");
    }
    rule.forbid = effect == "forbid";

    Napi::Value access = obj.Get("access");
    if (!access.IsArray()) throw Napi::TypeError::New(env, where + ": access must be an array");
    rule.read = rule.write = false;
    Napi::Array accesses = access.As<Napi::Array>();
    for (uint32_t j = 0; j < accesses.Length(); j++) {
      Napi::Value a = accesses.Get(j);
      std::string name = a.IsString() ? a.As<Napi::String>().Utf8Value() : "";
      if (name == "read") {
        rule.read = true;
      } else if (name == "write") {
        rule.write = true;
      } else {
        throw Napi::TypeError::New(env, where + ": access must hold only read and write");
      }
    }

    Napi::Value match = obj.Get("match");
    if (!match.IsArray()) throw Napi::TypeError::New(env, where + ": match must be an array");
    Napi::Array matchers = match.As<Napi::Array>();
    for (uint32_t j = 0; j < matchers.Length(); j++) {
      rule.match.push_back(ParsePathMatcher(env, matchers.Get(j), where));
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool AllowsRead(const FileRuleSet& rules, const std::string& path) {
  return Allows(rules, path, false);
}

bool AllowsWrite(const FileRuleSet& rules, const std::string& path) {
  return Allows(rules, path, true);
}

std::string ForbidBelow(const FileRuleSet& rules, const std::string& dir) {
  for (const FileRule& rule : rules) {
    if (!rule.forbid || !rule.write) continue;
    bool could_hold = true;
    for (const PathMatcher& m : rule.match) could_hold = could_hold && HoldsBelow(m, dir);
    if (could_hold) return rule.id;
  }
  return "";
}

}  // namespace leash
