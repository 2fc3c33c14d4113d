// The cgroup socket programs of connect.bpf.c, attached to one session's cgroup.
#pragma once

#include <napi.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

struct connect_bpf;
struct bpf_link;
struct ring_buffer;

namespace leash {

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
  void PollLoop();
  static int OnRingEvent(void* self, void* data, size_t size);
  void Stop();

  connect_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<std::string> link_names_;  // the program of each link, to name its pin
  ring_buffer* ring_ = nullptr;
  int cgroup_fd_ = -1;
  unsigned generation_ = 1;  // the set in use; the first install fills set 0
  std::thread poller_;
  std::atomic<bool> running_{false};
  Napi::ThreadSafeFunction on_event_;
  bool closed_ = false;
  bool pinned_ = false;
  std::string unpin_error_;
  std::atomic<uint64_t> dropped_{0};
};

// Loads connect.bpf.c and unloads it again; empty on success, else why it failed.
std::string ProbeConnectObject();

}  // namespace leash
