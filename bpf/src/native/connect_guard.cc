#include "connect_guard.h"

#include "loss_stats.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>

extern "C" {
#include "../connect.h"
#include "../connect.skel.h"
}

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;

std::string ErrnoText(int err) {
  return std::string(strerror(err)) + " (errno " + std::to_string(err) + ")";
}

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

std::vector<leash_rule> ParseConnectRules(Napi::Env env, Napi::Value value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "connect rules must be an array");
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() > LEASH_MAX_RULES) {
    throw Napi::RangeError::New(
        env, std::to_string(array.Length()) + " connect rules do not fit the kernel map (at most " +
                 std::to_string(LEASH_MAX_RULES) + "); simplify the policy's Connect rules");
  }

  std::vector<leash_rule> rules;
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, "connect rule " + std::to_string(i) + " must be an object");
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
    rules.push_back(rule);
  }
  return rules;
}

struct NetEventData {
  leash_net_event event;
};

}  // namespace

std::string ProbeConnectObject() {
  connect_bpf* skel = connect_bpf__open_and_load();
  if (skel == nullptr) return "loading the cgroup socket programs failed: " + ErrnoText(errno);
  connect_bpf__destroy(skel);
  return "";
}

Napi::Function ConnectGuard::Define(Napi::Env env) {
  return DefineClass(env, "ConnectGuard",
                     {InstanceMethod("update", &ConnectGuard::Update),
                      InstanceMethod("delegate", &ConnectGuard::Delegate),
                      InstanceMethod("pin", &ConnectGuard::Pin),
                      InstanceMethod("close", &ConnectGuard::Close),
                      InstanceMethod("stats", &ConnectGuard::Stats)});
}

ConnectGuard::ConnectGuard(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectGuard>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "ConnectGuard(cgroupPath: string, rules, onEvent)");
  }
  std::string cgroup_path = info[0].As<Napi::String>().Utf8Value();
  ParseConnectRules(env, info[1]);  // refuse bad rules before loading anything
  closed_ = true;  // until everything is attached, Stop() has nothing to stop

  struct statfs fs;
  if (statfs(cgroup_path.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    throw Napi::Error::New(env, "ConnectGuard: " + cgroup_path +
                                    " is not a cgroup v2 directory; pass a session's cgroup");
  }

  skel_ = connect_bpf__open_and_load();
  if (skel_ == nullptr) {
    throw Napi::Error::New(env, "ConnectGuard: loading the cgroup socket programs failed: " +
                                    ErrnoText(errno));
  }
  try {
    Install(env, info[1]);

    cgroup_fd_ = open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd_ < 0) {
      throw Napi::Error::New(env, "ConnectGuard: cannot open " + cgroup_path + ": " +
                                      ErrnoText(errno));
    }
    bpf_program* programs[] = {skel_->progs.leash_connect4, skel_->progs.leash_connect6,
                               skel_->progs.leash_sendmsg4, skel_->progs.leash_sendmsg6,
                               skel_->progs.leash_sock_create};
    for (bpf_program* program : programs) {
      bpf_link* link = bpf_program__attach_cgroup(program, cgroup_fd_);
      if (link == nullptr) {
        throw Napi::Error::New(env, std::string("ConnectGuard: attaching ") +
                                        bpf_program__name(program) + " to " + cgroup_path +
                                        " failed: " + ErrnoText(errno));
      }
      links_.push_back(link);
      link_names_.push_back(bpf_program__name(program));
    }

    ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &ConnectGuard::OnRingEvent, this,
                             nullptr);
    if (ring_ == nullptr) {
      throw Napi::Error::New(env, "ConnectGuard: opening the event ring buffer failed: " +
                                      ErrnoText(errno));
    }
  } catch (...) {
    for (bpf_link* link : links_) bpf_link__destroy(link);
    links_.clear();
    if (cgroup_fd_ >= 0) close(cgroup_fd_);
    connect_bpf__destroy(skel_);
    skel_ = nullptr;
    throw;
  }

  on_event_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "leash-net-events",
                                            kEventQueueSize, 1);
  closed_ = false;
  running_ = true;
  poller_ = std::thread(&ConnectGuard::PollLoop, this);
}

ConnectGuard::~ConnectGuard() { Stop(); }

// Fills the idle rule set and its count, then flips `active` (see connect.h).
void ConnectGuard::Install(Napi::Env env, Napi::Value value) {
  std::vector<leash_rule> rules = ParseConnectRules(env, value);
  unsigned next = generation_ ^ 1;

  int rules_fd = bpf_map__fd(skel_->maps.rules);
  for (size_t i = 0; i < rules.size(); i++) {
    __u32 key = next * LEASH_MAX_RULES + static_cast<__u32>(i);
    if (bpf_map_update_elem(rules_fd, &key, &rules[i], BPF_ANY) != 0) {
      throw Napi::Error::New(env, "ConnectGuard: writing rule " + std::to_string(i) + " failed: " +
                                      ErrnoText(errno));
    }
  }
  __u32 count = static_cast<__u32>(rules.size());
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.rule_counts), &next, &count, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "ConnectGuard: writing the rule count failed: " + ErrnoText(errno));
  }
  __u32 zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.active), &zero, &next, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "ConnectGuard: switching rule sets failed: " + ErrnoText(errno));
  }
  generation_ = next;
}

int ConnectGuard::OnRingEvent(void* self, void* data, size_t size) {
  auto* guard = static_cast<ConnectGuard*>(self);
  if (size < sizeof(leash_net_event)) return 0;
  auto* copy = new NetEventData;
  memcpy(&copy->event, data, sizeof copy->event);

  napi_status status = guard->on_event_.NonBlockingCall(
      copy, [](Napi::Env env, Napi::Function fn, NetEventData* d) {
        if (env != nullptr && fn != nullptr) {
          const leash_net_event& ev = d->event;
          char text[INET6_ADDRSTRLEN] = "";
          if (ev.family == 4) {
            inet_ntop(AF_INET, &ev.addr[3], text, sizeof text);
          } else {
            inet_ntop(AF_INET6, ev.addr, text, sizeof text);
          }
          Napi::Object e = Napi::Object::New(env);
          e.Set("ip", text);
          e.Set("port", ev.port);
          e.Set("family", ev.family);
          e.Set("protocol", ev.protocol == LEASH_UDP ? "udp" : "tcp");
          e.Set("decision", ev.decision == LEASH_ALLOW ? "allow" : "deny");
          e.Set("pid", ev.pid);
          e.Set("comm", std::string(ev.comm, strnlen(ev.comm, sizeof ev.comm)));
          fn.Call({e});
        }
        delete d;
      });
  if (status != napi_ok) {
    delete copy;
    guard->dropped_++;
  }
  return 0;
}

void ConnectGuard::PollLoop() {
  while (running_) {
    int n = ring_buffer__poll(ring_, 100);
    if (n < 0 && n != -EINTR) return;
  }
}

Napi::Value ConnectGuard::Update(const Napi::CallbackInfo& info) {
  if (closed_) throw Napi::Error::New(info.Env(), "ConnectGuard.update: the guard is closed");
  Install(info.Env(), info[0]);
  return info.Env().Undefined();
}

// Leaves the tasks of a cgroup below this guard's to the guard attached there (a principal's
// own leaf): this guard's programs allow whatever they do, so only that guard's rules apply.
Napi::Value ConnectGuard::Delegate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "ConnectGuard.delegate: the guard is closed");
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "ConnectGuard.delegate(cgroupPath: string)");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct statfs fs;
  struct stat st;
  if (statfs(path.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC ||
      stat(path.c_str(), &st) != 0) {
    throw Napi::Error::New(env, "ConnectGuard.delegate: " + path +
                                    " is not a cgroup v2 directory; pass a principal's cgroup");
  }
  __u64 cgroup_id = st.st_ino;  // a cgroup's id is its directory's inode
  __u8 one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.delegated), &cgroup_id, &one, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "ConnectGuard.delegate: naming " + path + " failed: " +
                                    ErrnoText(errno));
  }
  return env.Undefined();
}

// pin(dir): pins every program's link in bpffs under `dir` (an existing directory), one pin per
// hook, so that connects stay judged by the rules last installed after this process dies.
// close() removes the pins.
Napi::Value ConnectGuard::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "ConnectGuard.pin: the guard is closed");
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "ConnectGuard.pin(dir: string)");
  }
  if (pinned_) throw Napi::Error::New(env, "ConnectGuard.pin: already pinned");
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  for (size_t i = 0; i < links_.size(); i++) {
    // bpffs refuses dots in names; the programs' names have none.
    std::string path = dir + "/" + link_names_[i];
    int err = bpf_link__pin(links_[i], path.c_str());
    if (err != 0) {
      for (size_t j = 0; j < i; j++) bpf_link__unpin(links_[j]);
      throw Napi::Error::New(env, "ConnectGuard.pin: pinning at " + path + " failed: " +
                                      ErrnoText(-err) + "; is bpffs mounted at /sys/fs/bpf?");
    }
  }
  pinned_ = true;
  return env.Undefined();
}

void ConnectGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  running_ = false;
  if (poller_.joinable()) poller_.join();
  ring_buffer__free(ring_);
  for (bpf_link* link : links_) {
    // Unpinned first: destroying a pinned link would leave the program attached.
    int err = pinned_ ? bpf_link__unpin(link) : 0;
    if (err != 0) unpin_error_ = "could not unpin a connect program: " + ErrnoText(-err);
    bpf_link__destroy(link);
  }
  links_.clear();
  close(cgroup_fd_);
  connect_bpf__destroy(skel_);
  skel_ = nullptr;
  on_event_.Release();
}

Napi::Value ConnectGuard::Close(const Napi::CallbackInfo& info) {
  Stop();
  if (!unpin_error_.empty()) {
    throw Napi::Error::New(info.Env(), "ConnectGuard.close: " + unpin_error_ +
                                           "; remove the pins by hand to detach the programs");
  }
  return info.Env().Undefined();
}

Napi::Value ConnectGuard::Stats(const Napi::CallbackInfo& info) {
  int lost_fd = skel_ != nullptr ? bpf_map__fd(skel_->maps.lost_events) : -1;
  return LossStats(info.Env(), lost_fd, dropped_.load());
}

}  // namespace leash
