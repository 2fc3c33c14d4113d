#include "connect_rules.h"

#include <arpa/inet.h>

#include <cstring>
#include <map>
#include <string>
#include <tuple>

namespace leash {

namespace {

void ParseCidr(Napi::Env env, const std::string& cidr, const std::string& where,
               leash_matcher* m) {
  std::string address = cidr, length;
  size_t slash = cidr.find('/');
  if (slash != std::string::npos) {
    address = cidr.substr(0, slash);
    length = cidr.substr(slash + 1);
  }

  uint8_t bytes[16] = {0};
  unsigned max_bits, offset;
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    bytes[10] = bytes[11] = 0xff;
    memcpy(bytes + 12, &v4, 4);
    max_bits = 32;
    offset = 96;
    m->family = 4;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    max_bits = 128;
    offset = 0;
    m->family = 6;
  } else {
    throw Napi::TypeError::New(env, where + ": `" + cidr + "` is not an IPv4 or IPv6 CIDR");
  }

  unsigned bits = max_bits;
  if (!length.empty()) {
    char* end = nullptr;
    unsigned long parsed = strtoul(length.c_str(), &end, 10);
    if (*end != '\0' || parsed > max_bits) {
      throw Napi::TypeError::New(env, where + ": `" + cidr + "` has a bad prefix length");
    }
    bits = static_cast<unsigned>(parsed);
  }
  bits += offset;

  // A v6 range stays v6 even when it lies in ::ffff:0:0/96: addresses are unmapped before
  // matching, so it matches nothing, as in the reference evaluator and Cedar.
  uint8_t mask[16] = {0};
  for (unsigned i = 0; i < 128; i++) {
    if (i < bits) mask[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  }
  for (int i = 0; i < 16; i++) bytes[i] &= mask[i];
  memcpy(m->net, bytes, 16);
  memcpy(m->mask, mask, 16);
}

uint16_t PortField(Napi::Env env, Napi::Object obj, const char* name, const std::string& where) {
  Napi::Value v = obj.Get(name);
  double port = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (port < 0 || port > 65535 || port != static_cast<int>(port)) {
    throw Napi::TypeError::New(env, where + ": `" + name + "` must be a port (0-65535)");
  }
  return static_cast<uint16_t>(port);
}

leash_rule ParseConnectRule(Napi::Env env, Napi::Value item, uint32_t i) {
  if (!item.IsObject()) {
    throw Napi::TypeError::New(env, "connect rule " + std::to_string(i) + " must be an object");
  }
  Napi::Object obj = item.As<Napi::Object>();
  Napi::Value id = obj.Get("id");
  std::string where = "connect rule " + std::to_string(i) + " (" +
                      (id.IsString() ? id.As<Napi::String>().Utf8Value() : "?") + ")";

  leash_rule rule;
  memset(&rule, 0, sizeof rule);
  Napi::Value effect = obj.Get("effect");
  std::string e = effect.IsString() ? effect.As<Napi::String>().Utf8Value() : "";
  if (e != "permit" && e != "forbid") {
    throw Napi::TypeError::New(env, where + ": effect must be permit or forbid");
  }
  rule.effect = e == "forbid" ? LEASH_FORBID : LEASH_PERMIT;

  Napi::Value match = obj.Get("match");
  if (!match.IsArray()) throw Napi::TypeError::New(env, where + ": match must be an array");
  Napi::Array matchers = match.As<Napi::Array>();
  if (matchers.Length() > LEASH_MAX_MATCHERS) {
    throw Napi::RangeError::New(env, where + " has " + std::to_string(matchers.Length()) +
                                         " matchers; the kernel map holds at most " +
                                         std::to_string(LEASH_MAX_MATCHERS) + " per rule");
  }
  for (uint32_t j = 0; j < matchers.Length(); j++) {
    Napi::Value mv = matchers.Get(j);
    if (!mv.IsObject()) throw Napi::TypeError::New(env, where + ": a matcher must be an object");
    Napi::Object mo = mv.As<Napi::Object>();
    leash_matcher* m = &rule.matchers[j];
    Napi::Value kind = mo.Get("kind");
    std::string k = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : "";
    if (k == "cidr") {
      Napi::Value cidr = mo.Get("cidr");
      if (!cidr.IsString()) throw Napi::TypeError::New(env, where + ": cidr must be a string");
      m->kind = LEASH_MATCH_CIDR;
      ParseCidr(env, cidr.As<Napi::String>().Utf8Value(), where, m);
    } else if (k == "port") {
      m->kind = LEASH_MATCH_PORT;
      m->port_lo = PortField(env, mo, "lo", where);
      m->port_hi = PortField(env, mo, "hi", where);
    } else {
      throw Napi::TypeError::New(env, where + ": unknown connect matcher kind `" + k +
                                          "` (expected cidr or port)");
    }
    m->negate = mo.Get("negate").ToBoolean().Value() ? 1 : 0;
  }
  rule.matcher_count = static_cast<uint8_t>(matchers.Length());
  return rule;
}

unsigned PrefixBits(const leash_matcher& m) {
  unsigned bits = 0;
  for (uint32_t word : m.mask) bits += __builtin_popcount(word);
  return bits;
}

// The CIDR a rule is filed under: its first CIDR matcher that is not negated, if any. The rule
// can only match inside it, and it is judged whole once found.
const leash_matcher* IndexMatcher(const leash_rule& rule) {
  for (unsigned i = 0; i < rule.matcher_count; i++) {
    const leash_matcher& m = rule.matchers[i];
    if (m.kind == LEASH_MATCH_CIDR && !m.negate) return &m;
  }
  return nullptr;
}

using PrefixId = std::tuple<uint8_t, uint8_t, uint32_t, uint32_t, uint32_t, uint32_t>;

}  // namespace

ConnectIndex BuildConnectIndex(Napi::Env env, Napi::Value value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "connect rules must be an array");
  Napi::Array array = value.As<Napi::Array>();

  ConnectIndex index;
  memset(index.lengths, 0, sizeof index.lengths);
  std::map<PrefixId, std::vector<leash_rule>> filed;
  std::vector<PrefixId> order;  // first-seen order, so that equal sets file the same way
  for (uint32_t i = 0; i < array.Length(); i++) {
    leash_rule rule = ParseConnectRule(env, array.Get(i), i);
    const leash_matcher* m = IndexMatcher(rule);
    if (m == nullptr) {
      index.scan.push_back(rule);
      continue;
    }
    PrefixId id{m->family, static_cast<uint8_t>(PrefixBits(*m)), m->net[0], m->net[1], m->net[2],
                m->net[3]};
    auto [at, added] = filed.try_emplace(id);
    if (added) order.push_back(id);
    // A chain is judged rule by rule, so it is kept short; the rest of a crowded prefix is
    // scanned with the unfiled rules.
    if (at->second.size() < LEASH_MAX_CHAIN) {
      at->second.push_back(rule);
    } else {
      index.scan.push_back(rule);
    }
  }

  size_t indexed = 0;
  for (const auto& [id, rules] : filed) indexed += rules.size();
  if (indexed > LEASH_MAX_INDEXED_RULES) {
    throw Napi::RangeError::New(
        env, std::to_string(indexed) + " connect rules with a CIDR do not fit the kernel's " +
                 "prefix index (at most " + std::to_string(LEASH_MAX_INDEXED_RULES) +
                 "); merge the policy's Connect ranges into wider ones");
  }
  if (index.scan.size() > LEASH_MAX_SCAN_RULES) {
    throw Napi::RangeError::New(
        env, std::to_string(index.scan.size()) + " connect rules have no CIDR to be indexed " +
                 "by (port-only, negated ranges only, unconditional, or past " +
                 std::to_string(LEASH_MAX_CHAIN) + " on one range), and the kernel scans at " +
                 "most " + std::to_string(LEASH_MAX_SCAN_RULES) +
                 " such rules; give those Connect rules an `isInRange` or merge them");
  }

  index.indexed.reserve(indexed);
  for (const PrefixId& id : order) {
    const std::vector<leash_rule>& rules = filed[id];
    ConnectIndex::Chain chain;
    memset(&chain, 0, sizeof chain);
    chain.key.family = std::get<0>(id);
    chain.key.bits = std::get<1>(id);
    chain.key.addr[0] = std::get<2>(id);
    chain.key.addr[1] = std::get<3>(id);
    chain.key.addr[2] = std::get<4>(id);
    chain.key.addr[3] = std::get<5>(id);
    chain.chain.first = static_cast<__u32>(index.indexed.size());
    chain.chain.count = static_cast<__u32>(rules.size());
    index.indexed.insert(index.indexed.end(), rules.begin(), rules.end());
    index.chains.push_back(chain);

    leash_lengths& in_use = index.lengths[chain.key.family == 6 ? 1 : 0];
    bool seen = false;
    for (unsigned k = 0; k < in_use.count; k++) seen = seen || in_use.bits[k] == chain.key.bits;
    if (!seen) in_use.bits[in_use.count++] = chain.key.bits;
  }
  return index;
}

}  // namespace leash
