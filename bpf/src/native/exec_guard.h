// The exec judge of a session: exec.bpf.c on sched_process_exec for the session's cgroup, and
// the program records the fanotify answerer makes for it at each exec's permission event.
#pragma once

#include <napi.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "exec_rules.h"

struct exec_bpf;
struct bpf_link;
struct ring_buffer;

namespace leash {

// Shared by the ExecGuard and the FileGuard's answering thread; outlives either.
class ExecJudge {
 public:
  enum class Verdict { Allow, Deny, Loader };

  // `trusted`: canonical paths of leashd's own programs, allowed whatever the rules say.
  ExecJudge(uint64_t hash_key, int sets_fd, int rules_fd, int active_fd, int programs_fd,
            int scripts_fd, int loaders_fd, std::set<std::string> trusted);
  ~ExecJudge();

  // Parses and installs a rule set in the kernel's idle slot, then makes it the active one.
  // `quiet_allowed`: allowed execs are reported without waking the reader (they are only
  // counted, so a short delay costs nothing and saves a wakeup per exec).
  void Install(Napi::Env env, Napi::Value rules, bool quiet_allowed);

  // At an exec's permission event: the verdict of the program's path, and (when allowed)
  // the record exec.bpf.c judges the new image's argv by (for a `#!` script, a script
  // record). A dynamic loader is a Loader: noted for exec.bpf.c, and for the caller to judge
  // as a library read.
  Verdict Judge(int tid, int event_fd, const std::string& path);

  uint64_t hash_key() const { return hash_key_; }

  // The path judged for the exec of file (ino, dev) by a thread (for a script, the script's
  // path in `script`), taken in order: paths judged for that thread's earlier execs that never
  // started are dropped, later ones stay.
  std::string TakePath(int tid, uint64_t ino, uint32_t dev, std::string* script);

 private:
  std::mutex mutex_;
  ExecRuleSet rules_;
  uint64_t generation_ = 0;
  struct JudgedPath {
    uint64_t ino;
    uint32_t dev;
    bool script;
    std::string path;
  };
  std::unordered_map<int, std::deque<JudgedPath>> paths_;
  size_t path_count_ = 0;
  const std::set<std::string> trusted_;
  const uint64_t hash_key_;
  const int sets_fd_, rules_fd_, active_fd_, programs_fd_, scripts_fd_, loaders_fd_;
};

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
  std::atomic<uint64_t> dropped_{0};
};

// Loads exec.bpf.c (a tp_btf program) and unloads it again; empty on success, else why not.
std::string ProbeExecObject();

}  // namespace leash
