// The lsm backend (lsm.bpf.c): file opens, changes by path and execs of the tasks in a session's
// cgroups judged in BPF LSM hooks, with rules in maps swapped by a generation flip.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

struct lsm_bpf;
struct ring_buffer;

extern "C" {
#include <linux/types.h>

#include "../lsm.h"
}

namespace leash {

class LsmGuard : public Napi::ObjectWrap<LsmGuard> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit LsmGuard(const Napi::CallbackInfo& info);
  ~LsmGuard() override;

 private:
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value AddPrincipal(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  // Writes the slot's idle generation whole (set and `below` entries), then flips its `active`.
  void Install(Napi::Env env, uint32_t slot, Napi::Value file_rules, Napi::Value exec_rules,
               Napi::Value opts);
  void Register(Napi::Env env, const std::string& cgroup_path, uint32_t slot);
  void PollLoop();
  static int OnRingEvent(void* self, void* data, size_t size);
  void Stop();

  lsm_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  uint64_t hash_key_ = 0;
  // Per slot (0: the guard's own cgroup; then one per principal added): the generation in
  // force (the first install fills 0) and the `below` keys written per generation, to clear.
  unsigned generation_[LEASH_LSM_MAX_SLOTS];
  std::vector<leash_lsm_below_key> below_keys_[LEASH_LSM_MAX_SLOTS][2];
  uint32_t slots_ = 1;  // slots in use
  uint32_t levels_ = 0;
  std::thread poller_;
  std::atomic<bool> running_{false};
  Napi::ThreadSafeFunction on_event_;
  bool closed_ = true;
  std::atomic<uint64_t> dropped_{0};
  bool pinned_ = false;
  std::string unpin_error_;
};

// Loads lsm_probe.bpf.c aimed at a temporary file and this process, and opens the file:
// empty when the open was denied (BPF LSM works here), else why the backend is unavailable.
std::string ProbeLsmDenial();

}  // namespace leash
