#include "lsm_guard.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "file_rules.h"

extern "C" {
#include "../lsm.skel.h"
#include "../lsm_probe.skel.h"
}

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint32_t kSlot = 0;  // one guard, one skeleton: its cgroups share slot 0

std::string ErrnoText(int err) {
  return std::string(strerror(err)) + " (errno " + std::to_string(err) + ")";
}

// The keyed FNV-1a hash lsm.bpf.c computes (a suffix is hashed from its last byte).
uint64_t PathHash(const std::string& text, uint64_t key, bool backwards) {
  uint64_t h = key;
  for (size_t i = 0; i < text.size(); i++) {
    unsigned char c = text[backwards ? text.size() - 1 - i : i];
    h = (h ^ c) * kFnvPrime;
  }
  return h;
}

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
  out.hash = PathHash(m.value, key, m.kind == PathMatcher::Kind::Suffix);
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
void EncodeExecRules(Napi::Env env, Napi::Value value, uint64_t key, leash_lsm_set* set) {
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

struct EventData {
  leash_lsm_event event;
};

const char* AccessName(uint8_t access) {
  switch (access) {
    case LEASH_LSM_READ:
      return "read";
    case LEASH_LSM_WRITE:
      return "write";
    case LEASH_LSM_READWRITE:
      return "readwrite";
    case LEASH_LSM_EXEC:
      return "exec";
    case LEASH_LSM_CREATE:
      return "create";
    case LEASH_LSM_UNLINK:
      return "unlink";
    case LEASH_LSM_RMDIR:
      return "rmdir";
    case LEASH_LSM_RENAME:
      return "rename";
    case LEASH_LSM_LINK:
      return "link";
    case LEASH_LSM_TRUNCATE:
      return "truncate";
  }
  return "unknown";
}

}  // namespace

std::string ProbeLsmDenial() {
  char path[] = "/tmp/leash-lsm-probe-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "cannot create a file in /tmp to probe with: " + ErrnoText(errno);
  struct stat st;
  fstat(fd, &st);
  close(fd);

  std::string failure;
  lsm_probe_bpf* skel = lsm_probe_bpf__open();
  if (skel == nullptr) {
    failure = "opening the lsm probe program failed: " + ErrnoText(errno);
  } else {
    skel->rodata->target_tgid = static_cast<__u32>(getpid());
    skel->rodata->target_ino = st.st_ino;
    if (lsm_probe_bpf__load(skel) != 0) {
      int err = errno;
      failure = err == EPERM
                    ? "the kernel refused to load an lsm/file_open program (EPERM): BPF LSM is "
                      "not usable here (not in the boot lsm= list, or blocked by the kernel)"
                    : "loading an lsm/file_open program failed: " + ErrnoText(err);
    } else if (lsm_probe_bpf__attach(skel) != 0) {
      failure = "attaching an lsm/file_open program failed: " + ErrnoText(errno);
    } else {
      int probe = open(path, O_RDONLY | O_CLOEXEC);
      if (probe >= 0) {
        close(probe);
        failure = "an lsm/file_open program loads and attaches but its denial has no effect "
                  "(`bpf` is not among the active LSMs: boot with lsm=...,bpf)";
      } else if (errno != EPERM) {
        failure = "the probe's open failed with " + ErrnoText(errno) + " instead of EPERM";
      }
    }
    lsm_probe_bpf__destroy(skel);
  }
  unlink(path);
  return failure;
}

Napi::Function LsmGuard::Define(Napi::Env env) {
  return DefineClass(env, "LsmGuard",
                     {InstanceMethod("update", &LsmGuard::Update),
                      InstanceMethod("addCgroup", &LsmGuard::AddCgroup),
                      InstanceMethod("close", &LsmGuard::Close),
                      InstanceMethod("stats", &LsmGuard::Stats)});
}

// LsmGuard(cgroupPath, fileRules, execRules, onEvent, { enforce, reportAllowed })
LsmGuard::LsmGuard(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LsmGuard>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[3].IsFunction() || !info[4].IsObject()) {
    throw Napi::TypeError::New(
        env, "LsmGuard(cgroupPath: string, fileRules, execRules, onEvent, options)");
  }
  if (getrandom(&hash_key_, sizeof hash_key_, 0) != sizeof hash_key_) {
    throw Napi::Error::New(env, "LsmGuard: getrandom failed: " + ErrnoText(errno));
  }

  skel_ = lsm_bpf__open();
  if (skel_ == nullptr) {
    throw Napi::Error::New(env, "LsmGuard: opening the lsm programs failed: " + ErrnoText(errno));
  }
  skel_->rodata->hash_key = hash_key_;
  try {
    if (lsm_bpf__load(skel_) != 0) {
      throw Napi::Error::New(env, "LsmGuard: loading the lsm programs failed: " +
                                      ErrnoText(errno) + "; does `leash helper status` say the " +
                                      "lsm backend is available?");
    }
    Install(env, info[1], info[2], info[4]);
    Register(env, info[0].As<Napi::String>().Utf8Value());
    if (lsm_bpf__attach(skel_) != 0) {
      throw Napi::Error::New(env, "LsmGuard: attaching the lsm programs failed: " +
                                      ErrnoText(errno));
    }
    ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &LsmGuard::OnRingEvent, this,
                             nullptr);
    if (ring_ == nullptr) {
      throw Napi::Error::New(env, "LsmGuard: opening the event ring buffer failed: " +
                                      ErrnoText(errno));
    }
  } catch (...) {
    lsm_bpf__destroy(skel_);
    skel_ = nullptr;
    throw;
  }

  on_event_ = Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "leash-lsm-events",
                                            kEventQueueSize, 1);
  closed_ = false;
  running_ = true;
  poller_ = std::thread(&LsmGuard::PollLoop, this);
}

LsmGuard::~LsmGuard() { Stop(); }

void LsmGuard::Install(Napi::Env env, Napi::Value file_rules, Napi::Value exec_rules,
                       Napi::Value opts) {
  FileRuleSet files = ParseFileRules(env, file_rules);
  CheckCounts(env, files.size(), 0, "file", "");
  auto set = std::make_unique<leash_lsm_set>();
  memset(set.get(), 0, sizeof *set);
  Napi::Object o = opts.IsObject() ? opts.As<Napi::Object>() : Napi::Object::New(env);
  set->enforce = o.Get("enforce").IsBoolean() && !o.Get("enforce").ToBoolean().Value() ? 0 : 1;
  set->report_allowed = o.Get("reportAllowed").ToBoolean().Value() ? 1 : 0;

  unsigned next = generation_ ^ 1;
  __u32 index = kSlot * 2 + next;
  std::vector<std::pair<leash_lsm_below_key, leash_lsm_below>> below;
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
      rule.match[j] = EncodeMatcher(env, m, hash_key_, where);
      if (m.kind == PathMatcher::Kind::Suffix || m.negate || m.value == "/") continue;
      for (const std::string& dir : Ancestors(m.value)) {
        leash_lsm_below_key key = {index, static_cast<__u32>(dir.size()),
                                   PathHash(dir, hash_key_, false)};
        auto found = std::find_if(below.begin(), below.end(), [&](const auto& e) {
          return e.first.len == key.len && e.first.hash == key.hash;
        });
        if (found == below.end()) {
          below.push_back({key, leash_lsm_below{}});
          found = below.end() - 1;
        }
        found->second.mask[j] |= 1ULL << i;
      }
    }
  }
  set->nfile = static_cast<__u32>(files.size());
  EncodeExecRules(env, exec_rules, hash_key_, set.get());

  // The idle generation: clear what an older update left there, then write it whole.
  int below_fd = bpf_map__fd(skel_->maps.below);
  for (const leash_lsm_below_key& key : below_keys_[next]) bpf_map_delete_elem(below_fd, &key);
  below_keys_[next].clear();
  for (const auto& [key, masks] : below) {
    if (bpf_map_update_elem(below_fd, &key, &masks, BPF_ANY) != 0) {
      throw Napi::Error::New(env, "LsmGuard: writing the directory map failed: " +
                                      ErrnoText(errno) + "; the policy names too many directories");
    }
    below_keys_[next].push_back(key);
  }
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sets), &index, set.get(), BPF_ANY) != 0) {
    throw Napi::Error::New(env, "LsmGuard: writing the rule set failed: " + ErrnoText(errno));
  }
  __u32 slot = kSlot, gen = next;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.active), &slot, &gen, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "LsmGuard: switching rule sets failed: " + ErrnoText(errno));
  }
  generation_ = next;
}

// Judges the tasks of one more cgroup v2 directory (and of the cgroups below it).
void LsmGuard::Register(Napi::Env env, const std::string& cgroup_path) {
  struct statfs fs;
  struct stat st;
  if (statfs(cgroup_path.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC ||
      stat(cgroup_path.c_str(), &st) != 0) {
    throw Napi::Error::New(env, "LsmGuard: " + cgroup_path +
                                    " is not a cgroup v2 directory; pass a session's cgroup");
  }
  // Its level: how many parents up the cgroup v2 tree's root is.
  uint32_t level = 0;
  std::string dir = cgroup_path;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  for (;;) {
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    std::string parent = dir.substr(0, slash);
    struct statfs pfs;
    if (statfs(parent.c_str(), &pfs) != 0 || pfs.f_type != CGROUP2_SUPER_MAGIC) break;
    level++;
    dir = parent;
  }
  if (level >= 32) {
    throw Napi::Error::New(env, "LsmGuard: " + cgroup_path + " is deeper than 31 levels");
  }

  __u64 id = st.st_ino;  // a cgroup's id is its directory's inode
  __u32 slot = kSlot, zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.cgroups), &id, &slot, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "LsmGuard: registering " + cgroup_path + " failed: " +
                                    ErrnoText(errno));
  }
  levels_ |= 1U << level;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.levels), &zero, &levels_, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "LsmGuard: writing the cgroup levels failed: " + ErrnoText(errno));
  }
}

int LsmGuard::OnRingEvent(void* self, void* data, size_t size) {
  auto* guard = static_cast<LsmGuard*>(self);
  if (size < offsetof(leash_lsm_event, path)) return 0;
  auto* copy = new EventData;
  memset(&copy->event, 0, sizeof copy->event);
  memcpy(&copy->event, data, std::min(size, sizeof copy->event));

  napi_status status = guard->on_event_.NonBlockingCall(
      copy, [](Napi::Env env, Napi::Function fn, EventData* d) {
        if (env != nullptr && fn != nullptr) {
          const leash_lsm_event& ev = d->event;
          Napi::Object e = Napi::Object::New(env);
          e.Set("path", std::string(ev.path, std::min<size_t>(ev.path_len, sizeof ev.path)));
          e.Set("access", AccessName(ev.access));
          e.Set("decision", ev.decision == LEASH_LSM_ALLOW  ? "allow"
                            : ev.decision == LEASH_LSM_DENY ? "deny"
                                                            : "would-deny");
          if (ev.below) e.Set("below", true);
          if (ev.to) e.Set("to", true);
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

void LsmGuard::PollLoop() {
  while (running_) {
    int n = ring_buffer__poll(ring_, 100);
    if (n < 0 && n != -EINTR) return;
  }
}

Napi::Value LsmGuard::Update(const Napi::CallbackInfo& info) {
  if (closed_) throw Napi::Error::New(info.Env(), "LsmGuard.update: the guard is closed");
  Install(info.Env(), info[0], info[1], info[2]);
  return info.Env().Undefined();
}

Napi::Value LsmGuard::AddCgroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "LsmGuard.addCgroup: the guard is closed");
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "LsmGuard.addCgroup(cgroupPath: string)");
  }
  Register(env, info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

void LsmGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  running_ = false;
  if (poller_.joinable()) poller_.join();
  ring_buffer__free(ring_);
  ring_ = nullptr;
  lsm_bpf__destroy(skel_);  // detaches every hook
  skel_ = nullptr;
  on_event_.Release();
}

Napi::Value LsmGuard::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

Napi::Value LsmGuard::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t totals[LEASH_LSM_STATS] = {0};
  if (!closed_) {
    int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> values(cpus > 0 ? cpus : 1);
    for (__u32 k = 0; k < LEASH_LSM_STATS; k++) {
      if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &k, values.data()) != 0) continue;
      for (uint64_t v : values) totals[k] += v;
    }
  }
  Napi::Object s = Napi::Object::New(env);
  s.Set("asked", static_cast<double>(totals[LEASH_LSM_STAT_ASKED]));
  s.Set("allowed", static_cast<double>(totals[LEASH_LSM_STAT_ALLOWED]));
  s.Set("denied", static_cast<double>(totals[LEASH_LSM_STAT_DENIED]));
  s.Set("lost", static_cast<double>(totals[LEASH_LSM_STAT_LOST]));
  s.Set("dropped", static_cast<double>(dropped_.load()));
  return s;
}

}  // namespace leash
