#include "lsm_guard.h"
#include "errno_text.h"
#include "pin_links.h"

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

#include "lsm_rules.h"

extern "C" {
#include "../lsm.skel.h"
}

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;


// The keyed FNV-1a hash lsm.bpf.c computes (a suffix is hashed from its last byte).

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

Napi::Function LsmGuard::Define(Napi::Env env) {
  return DefineClass(env, "LsmGuard",
                     {InstanceMethod("update", &LsmGuard::Update),
                      InstanceMethod("addPrincipal", &LsmGuard::AddPrincipal),
                      InstanceMethod("pin", &LsmGuard::Pin),
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
  {  // refuse bad rules before loading anything
    auto check = std::make_unique<leash_lsm_set>();
    memset(check.get(), 0, sizeof *check);
    EncodeLsmRules(env, info[1], info[2], hash_key_, 0, check.get());
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
    for (unsigned& g : generation_) g = 1;
    Install(env, 0, info[1], info[2], info[4]);
    Register(env, info[0].As<Napi::String>().Utf8Value(), 0);
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

void LsmGuard::Install(Napi::Env env, uint32_t slot, Napi::Value file_rules,
                       Napi::Value exec_rules, Napi::Value opts) {
  auto set = std::make_unique<leash_lsm_set>();
  memset(set.get(), 0, sizeof *set);
  Napi::Object o = opts.IsObject() ? opts.As<Napi::Object>() : Napi::Object::New(env);
  set->enforce = o.Get("enforce").IsBoolean() && !o.Get("enforce").ToBoolean().Value() ? 0 : 1;
  set->report_allowed = o.Get("reportAllowed").ToBoolean().Value() ? 1 : 0;
  unsigned next = generation_[slot] ^ 1;
  __u32 index = slot * 2 + next;
  LsmEncoded encoded = EncodeLsmRules(env, file_rules, exec_rules, hash_key_, index, set.get());

  // The idle generation: clear what an older update left there, then write it whole.
  int below_fd = bpf_map__fd(skel_->maps.below);
  std::vector<leash_lsm_below_key>& below_keys = below_keys_[slot][next];
  for (const leash_lsm_below_key& key : below_keys) bpf_map_delete_elem(below_fd, &key);
  below_keys.clear();
  int values_fd = bpf_map__fd(skel_->maps.values);
  for (const auto& [entry, text] : encoded.values) {
    leash_lsm_value value;
    memset(&value, 0, sizeof value);
    memcpy(value.bytes, text.data(), std::min(text.size(), sizeof value.bytes));
    if (bpf_map_update_elem(values_fd, &entry, &value, BPF_ANY) != 0) {
      throw Napi::Error::New(env, "LsmGuard: writing a matcher's bytes failed: " +
                                      ErrnoText(errno));
    }
  }
  for (const LsmBelowEntry& entry : encoded.below) {
    if (bpf_map_update_elem(below_fd, &entry.key, &entry.masks, BPF_ANY) != 0) {
      throw Napi::Error::New(env, "LsmGuard: writing the directory map failed: " +
                                      ErrnoText(errno) + "; the policy names too many directories");
    }
    below_keys.push_back(entry.key);
  }
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sets), &index, set.get(), BPF_ANY) != 0) {
    throw Napi::Error::New(env, "LsmGuard: writing the rule set failed: " + ErrnoText(errno));
  }
  __u32 key = slot, gen = next;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.active), &key, &gen, BPF_ANY) != 0) {
    throw Napi::Error::New(env, "LsmGuard: switching rule sets failed: " + ErrnoText(errno));
  }
  generation_[slot] = next;
}

// Judges the tasks of one more cgroup v2 directory (and of the cgroups below it) by a slot's
// rules; a task is judged by the slot of its deepest registered cgroup.
void LsmGuard::Register(Napi::Env env, const std::string& cgroup_path, uint32_t slot) {
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
  __u32 zero = 0;
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
          e.Set("slot", ev.slot);
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

// update(fileRules, execRules, opts[, slot]): the slot's rules (0, the guard's own, by default).
Napi::Value LsmGuard::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "LsmGuard.update: the guard is closed");
  uint32_t slot = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value()
                                                          : 0;
  if (slot >= slots_) {
    throw Napi::RangeError::New(env, "LsmGuard.update: no slot " + std::to_string(slot));
  }
  Install(env, slot, info[0], info[1], info[2]);
  return env.Undefined();
}

// addPrincipal(cgroupPath, fileRules, execRules, opts): judges the tasks of a cgroup below the
// guard's by rules of their own, in a new slot; returns the slot, which its events carry.
Napi::Value LsmGuard::AddPrincipal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "LsmGuard.addPrincipal: the guard is closed");
  if (info.Length() < 4 || !info[0].IsString()) {
    throw Napi::TypeError::New(env,
                               "LsmGuard.addPrincipal(cgroupPath, fileRules, execRules, options)");
  }
  if (slots_ >= LEASH_LSM_MAX_SLOTS) {
    throw Napi::RangeError::New(env, "LsmGuard.addPrincipal: a session has at most " +
                                         std::to_string(LEASH_LSM_MAX_SLOTS - 1) +
                                         " further principals on the lsm backend");
  }
  uint32_t slot = slots_;
  Install(env, slot, info[1], info[2], info[3]);
  Register(env, info[0].As<Napi::String>().Utf8Value(), slot);
  slots_++;
  return Napi::Number::New(env, slot);
}

// The skeleton's links, one per hook, with the names their pins get.
static std::vector<std::pair<bpf_link*, std::string>> LinksOf(lsm_bpf* skel) {
  return {{skel->links.leash_file_open, "file_open"},
          {skel->links.leash_bprm_check, "bprm_check"},
          {skel->links.leash_mmap_file, "mmap_file"},
          {skel->links.leash_path_mknod, "path_mknod"},
          {skel->links.leash_path_mkdir, "path_mkdir"},
          {skel->links.leash_path_symlink, "path_symlink"},
          {skel->links.leash_path_unlink, "path_unlink"},
          {skel->links.leash_path_rmdir, "path_rmdir"},
          {skel->links.leash_path_link, "path_link"},
          {skel->links.leash_path_rename, "path_rename"},
          {skel->links.leash_path_truncate, "path_truncate"}};
}

// pin(dir): pins every hook's link in bpffs under `dir` (an existing directory), so that the
// cgroups' tasks stay judged by the rules last installed after this process dies. close()
// removes the pins.
Napi::Value LsmGuard::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "LsmGuard.pin: the guard is closed");
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "LsmGuard.pin(dir: string)");
  }
  if (pinned_) throw Napi::Error::New(env, "LsmGuard.pin: already pinned");
  std::string error = PinLinks(LinksOf(skel_), info[0].As<Napi::String>().Utf8Value());
  if (!error.empty()) throw Napi::Error::New(env, "LsmGuard.pin: " + error);
  pinned_ = true;
  return env.Undefined();
}

void LsmGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  running_ = false;
  if (poller_.joinable()) poller_.join();
  ring_buffer__free(ring_);
  ring_ = nullptr;
  if (pinned_) unpin_error_ = UnpinLinks(LinksOf(skel_));
  lsm_bpf__destroy(skel_);  // detaches every hook
  skel_ = nullptr;
  on_event_.Release();
}

Napi::Value LsmGuard::Close(const Napi::CallbackInfo& info) {
  Stop();
  if (!unpin_error_.empty()) {
    throw Napi::Error::New(info.Env(), "LsmGuard.close: " + unpin_error_ +
                                           "; remove the pins by hand to detach the hooks");
  }
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
