// The exec program of a session: exec.bpf.c on sched_process_exec for the session's cgroup,
// its rules installed through an ExecJudge, and its events delivered to JavaScript.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exec_judge.h"

struct exec_bpf;
struct bpf_link;
struct ring_buffer;

namespace leash {

struct ExecEventData {
  leash_exec_event event;
  std::string program;  // "" when no path record named it
  std::string script;
};

// Events read from the ring, waiting for the JavaScript thread; shared with queued calls so
// that none outlives it.
struct ExecEventQueue {
  std::mutex mutex;
  std::vector<std::unique_ptr<ExecEventData>> events;

  std::vector<std::unique_ptr<ExecEventData>> Take();
};

class ExecGuard : public Napi::ObjectWrap<ExecGuard> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ExecGuard(const Napi::CallbackInfo& info);
  ~ExecGuard() override;

  std::shared_ptr<ExecJudge> judge() const { return judge_; }

 private:
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void PollLoop();
  static int OnRingEvent(void* self, void* data, size_t size);
  void Stop();

  exec_bpf* skel_ = nullptr;
  bpf_link* link_ = nullptr;
  ring_buffer* ring_ = nullptr;
  std::shared_ptr<ExecJudge> judge_;
  std::thread poller_;
  std::atomic<bool> running_{false};
  Napi::ThreadSafeFunction on_event_;
  Napi::FunctionReference callback_;  // the same function, for close() to call directly
  std::shared_ptr<ExecEventQueue> pending_ = std::make_shared<ExecEventQueue>();
  bool closed_ = true;
  std::string pinned_;  // where the link is pinned in bpffs, "" when it is not
  std::string unpin_error_;
  std::atomic<uint64_t> dropped_{0};
};

// Loads exec.bpf.c (a tp_btf program) and unloads it again; empty on success, else why not.
std::string ProbeExecObject();

}  // namespace leash
