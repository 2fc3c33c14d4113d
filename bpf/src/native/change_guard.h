// The change supervisor: performs, on behalf of a sandbox, the calls fanotify cannot see
// (rename, unlink, rmdir, truncate by path, mkdir, mknod, symlink, and the metadata changes
// chmod, chown, setxattr, removexattr and utimes in all their forms), after judging each path
// they change by the same file rules as FileGuard. The calls reach it through seccomp user
// notification listeners taken from leash-launch (src/launcher/leash-launch.c).
#pragma once

#include <napi.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "file_rules.h"

namespace leash {

namespace change {
struct Change;
}

class ChangeGuard : public Napi::ObjectWrap<ChangeGuard> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ChangeGuard(const Napi::CallbackInfo& info);
  ~ChangeGuard() override;

 private:
  Napi::Value AddListener(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void SuperviseLoop();
  // Answers one notification; false when the listener is done (no task uses its filter).
  bool Handle(int listener);
  int Decide(change::Change& change);
  void Emit(const change::Change& change, bool allowed);
  void Stop();

  int wake_fd_ = -1;
  std::thread supervisor_;
  Napi::ThreadSafeFunction on_event_;
  bool closed_ = true;
  std::atomic<bool> stopping_{false};

  // Listeners handed over by addListener(), taken by the supervisor thread when it wakes.
  std::mutex pending_mutex_;
  std::vector<int> pending_;

  // Held while judging and performing one change, and while swapping rules: a change is
  // judged and done under one rule set.
  std::mutex rules_mutex_;
  FileRuleSet rules_;

  std::atomic<uint64_t> asked_{0}, allowed_{0}, denied_{0}, dropped_{0};
};

// pidfd_open + pidfd_getfd: a copy of descriptor `fd` of process `pid` (host pid), which
// must be a seccomp listener. Throws a Napi::Error saying what failed.
int TakeSeccompListener(Napi::Env env, int pid, int fd);

}  // namespace leash
