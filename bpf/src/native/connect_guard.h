// The cgroup socket programs of connect.bpf.c, attached to one session's cgroup.
#pragma once

#include <napi.h>

#include <linux/types.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
#include "../connect.h"
}

struct connect_bpf;
struct bpf_link;
struct ring_buffer;

namespace leash {

struct ConnectIndex;

class ConnectGuard : public Napi::ObjectWrap<ConnectGuard> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ConnectGuard(const Napi::CallbackInfo& info);
  ~ConnectGuard() override;

 private:
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delegate(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void Install(Napi::Env env, Napi::Value rules);
  void WriteIndexed(Napi::Env env, unsigned generation, const ConnectIndex& index);
  void WriteChains(Napi::Env env, unsigned generation, const ConnectIndex& index);
  static void DeleteAll(Napi::Env env, int fd, const void* keys, size_t key_size, size_t count,
                        const std::string& what);
  static void Check(Napi::Env env, int err, const std::string& what);
  void PollLoop();
  void Deliver();
  static int OnRingEvent(void* self, void* data, size_t size);
  void Stop();

  connect_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<std::string> link_names_;  // the program of each link, to name its pin
  // Each link with its pin's name.
  std::vector<std::pair<bpf_link*, std::string>> NamedLinks() const;
  ring_buffer* ring_ = nullptr;
  int cgroup_fd_ = -1;
  unsigned generation_ = 1;  // the set in use; the first install fills set 0
  unsigned installs_ = 0;
  // What each set holds in the hash maps, so that a refill removes what it no longer has.
  std::vector<leash_prefix_key> keys_[2];
  size_t indexed_count_[2] = {0, 0};
  std::thread poller_;
  std::atomic<bool> running_{false};
  Napi::ThreadSafeFunction on_event_;
  bool closed_ = false;
  bool pinned_ = false;
  std::string unpin_error_;
  std::atomic<uint64_t> dropped_{0};
  std::vector<leash_net_event> pending_;  // read from the ring, not yet delivered (poller only)
};

// Loads connect.bpf.c and unloads it again; empty on success, else why it failed.
std::string ProbeConnectObject();

}  // namespace leash
