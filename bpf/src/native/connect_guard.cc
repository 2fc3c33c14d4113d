#include "connect_guard.h"
#include "errno_text.h"
#include "pin_links.h"

#include "connect_rules.h"
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

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>

extern "C" {
#include "../connect.skel.h"
}

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;
// The programs wake the reader only once LEASH_EVENT_WAKEUP_BYTES are waiting (connect.bpf.c);
// below that it drains the ring this often, so an event reaches JavaScript within about this.
constexpr int kDrainMs = 50;


// The events of one drain of the ring, delivered to JavaScript in one call.
struct NetEventBatch {
  std::vector<leash_net_event> events;
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
  BuildConnectIndex(env, info[1]);  // refuse bad rules before loading anything
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

// Fills the idle rule set, then flips `active` (see connect.h).
void ConnectGuard::Install(Napi::Env env, Napi::Value value) {
  ConnectIndex index = BuildConnectIndex(env, value);
  unsigned next = generation_ ^ 1;
  // Programs that read `active` before the last flip may still be reading the set about to be
  // refilled; an update of the map of maps returns once they have finished. The set was never
  // read before the second install.
  if (installs_ >= 2) {
    __u32 zero = 0;
    int inner = bpf_map__fd(skel_->maps.quiesce_inner);
    Check(env, bpf_map_update_elem(bpf_map__fd(skel_->maps.quiesce), &zero, &inner, BPF_ANY),
          "waiting for the programs to leave the idle rule set");
  }
  WriteIndexed(env, next, index);
  WriteChains(env, next, index);

  for (unsigned family = 0; family < 2; family++) {
    __u32 slot = next * 2 + family;
    Check(env, bpf_map_update_elem(bpf_map__fd(skel_->maps.lengths), &slot, &index.lengths[family],
                                   BPF_ANY),
          "writing the prefix lengths");
  }
  int scan_fd = bpf_map__fd(skel_->maps.scan_rules);
  for (size_t i = 0; i < index.scan.size(); i++) {
    __u32 key = next * LEASH_MAX_SCAN_RULES + static_cast<__u32>(i);
    Check(env, bpf_map_update_elem(scan_fd, &key, &index.scan[i], BPF_ANY),
          "writing scanned rule " + std::to_string(i));
  }
  __u32 count = static_cast<__u32>(index.scan.size());
  Check(env, bpf_map_update_elem(bpf_map__fd(skel_->maps.scan_counts), &next, &count, BPF_ANY),
        "writing the scanned rule count");
  __u32 zero = 0;
  Check(env, bpf_map_update_elem(bpf_map__fd(skel_->maps.active), &zero, &next, BPF_ANY),
        "switching rule sets");
  generation_ = next;
  installs_++;
}

// Writes the indexed rules of generation `g` and removes the ones its last set had beyond them.
void ConnectGuard::WriteIndexed(Napi::Env env, unsigned g, const ConnectIndex& index) {
  int fd = bpf_map__fd(skel_->maps.indexed);
  __u32 base = g * LEASH_MAX_INDEXED_RULES;
  __u32 count = static_cast<__u32>(index.indexed.size());
  size_t old_count = indexed_count_[g];
  // Until this succeeds, the slots of both sets may be there.
  indexed_count_[g] = std::max(old_count, index.indexed.size());
  std::vector<__u32> keys;
  for (__u32 i = 0; i < count; i++) keys.push_back(base + i);
  if (count > 0) {
    __u32 n = count;
    Check(env, bpf_map_update_batch(fd, keys.data(), index.indexed.data(), &n, nullptr),
          "writing " + std::to_string(count) + " indexed rules");
  }
  keys.clear();
  for (size_t i = count; i < old_count; i++) keys.push_back(base + static_cast<__u32>(i));
  DeleteAll(env, fd, keys.data(), sizeof keys[0], keys.size(), "removing old indexed rules");
  indexed_count_[g] = count;
}

// Writes the chains of generation `g` under their prefixes and removes those of its last set
// that the new one does not have.
void ConnectGuard::WriteChains(Napi::Env env, unsigned g, const ConnectIndex& index) {
  int fd = bpf_map__fd(skel_->maps.prefixes);
  std::vector<leash_prefix_key> keys;
  std::vector<leash_chain> chains;
  std::set<std::string> fresh;
  for (const ConnectIndex::Chain& c : index.chains) {
    leash_prefix_key key = c.key;
    key.generation = static_cast<__u8>(g);
    keys.push_back(key);
    chains.push_back(c.chain);
    fresh.emplace(reinterpret_cast<const char*>(&key), sizeof key);
  }
  std::vector<leash_prefix_key> stale;
  for (const leash_prefix_key& key : keys_[g]) {
    if (fresh.count(std::string(reinterpret_cast<const char*>(&key), sizeof key)) == 0) {
      stale.push_back(key);
    }
  }
  // Until this succeeds, the keys of both sets may be there.
  keys_[g].insert(keys_[g].end(), keys.begin(), keys.end());
  if (!keys.empty()) {
    __u32 n = static_cast<__u32>(keys.size());
    Check(env, bpf_map_update_batch(fd, keys.data(), chains.data(), &n, nullptr),
          "writing " + std::to_string(keys.size()) + " prefixes");
  }
  DeleteAll(env, fd, stale.data(), sizeof stale[0], stale.size(), "removing old prefixes");
  keys_[g] = std::move(keys);
}

// Deletes `count` keys of `key_size` bytes from map `fd`; keys already absent are skipped.
void ConnectGuard::DeleteAll(Napi::Env env, int fd, const void* keys, size_t key_size,
                             size_t count, const std::string& what) {
  const char* at = static_cast<const char*>(keys);
  size_t done = 0;
  while (done < count) {
    __u32 n = static_cast<__u32>(count - done);
    if (bpf_map_delete_batch(fd, at + done * key_size, &n, nullptr) == 0) return;
    if (errno != ENOENT) Check(env, -1, what);
    done += n + 1;  // the n keys before the absent one went; skip that one
  }
}

void ConnectGuard::Check(Napi::Env env, int err, const std::string& what) {
  if (err != 0) {
    throw Napi::Error::New(env, "ConnectGuard: " + what + " failed: " + ErrnoText(errno));
  }
}

int ConnectGuard::OnRingEvent(void* self, void* data, size_t size) {
  auto* guard = static_cast<ConnectGuard*>(self);
  if (size < sizeof(leash_net_event)) return 0;
  leash_net_event event;
  memcpy(&event, data, sizeof event);
  guard->pending_.push_back(event);
  return 0;
}

// Hands the events read since the last call to JavaScript, one call for all of them.
void ConnectGuard::Deliver() {
  if (pending_.empty()) return;
  auto* batch = new NetEventBatch{std::move(pending_)};
  pending_.clear();
  size_t count = batch->events.size();
  napi_status status = on_event_.NonBlockingCall(
      batch, [](Napi::Env env, Napi::Function fn, NetEventBatch* b) {
        if (env != nullptr && fn != nullptr) {
          for (const leash_net_event& ev : b->events) {
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
        }
        delete b;
      });
  if (status != napi_ok) {
    delete batch;
    dropped_ += count;
  }
}

// Waits for a wake-up (a batch has built up) or kDrainMs, then reads whatever is there. The
// round running when Stop() clears `running_` still reads and delivers, so connects made before
// a close are reported.
void ConnectGuard::PollLoop() {
  while (running_) {
    int n = ring_buffer__poll(ring_, kDrainMs);
    if (n < 0 && n != -EINTR) return;
    n = ring_buffer__consume(ring_);
    if (n < 0 && n != -EINTR) return;
    Deliver();
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
  // The programs' names, which have no dots, name the pins.
  std::string error = PinLinks(NamedLinks(), info[0].As<Napi::String>().Utf8Value());
  if (!error.empty()) throw Napi::Error::New(env, "ConnectGuard.pin: " + error);
  pinned_ = true;
  return env.Undefined();
}

std::vector<std::pair<bpf_link*, std::string>> ConnectGuard::NamedLinks() const {
  std::vector<std::pair<bpf_link*, std::string>> named;
  for (size_t i = 0; i < links_.size(); i++) named.emplace_back(links_[i], link_names_[i]);
  return named;
}

void ConnectGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  running_ = false;
  if (poller_.joinable()) poller_.join();
  ring_buffer__free(ring_);
  if (pinned_) unpin_error_ = UnpinLinks(NamedLinks());
  for (bpf_link* link : links_) bpf_link__destroy(link);
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
