// The fanotify answerer: decides opens on a sandbox's mounts on its own thread.
#pragma once

#include <napi.h>
#include <sys/fanotify.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exec_guard.h"
#include "file_rules.h"

namespace leash {

class FileGuard : public Napi::ObjectWrap<FileGuard> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit FileGuard(const Napi::CallbackInfo& info);
  ~FileGuard() override;

 private:
  enum class Access { Read, Write, ReadWrite, Exec };

  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value AddPrincipal(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GroupFd(const Napi::CallbackInfo& info);

  void Mark(Napi::Env env, const std::string& mount_point);
  void AnswerLoop();
  void Answer(int event_fd, int tid, uint64_t mask);
  // Whether every principal's rules allow both reading and writing `path`; under rules_mutex_.
  bool AllowedForAll(const std::string& path) const;
  void Emit(std::string path, Access access, bool allowed, int tid, std::string comm,
            std::vector<std::string> argv = {}, std::string cgroup = "");
  void Stop();

  int group_fd_ = -1;
  int stop_fd_ = -1;
  std::thread answerer_;
  Napi::ThreadSafeFunction on_event_;
  bool closed_ = false;

  // Held while deciding and caching, and while swapping rules and flushing the cache, so
  // no ignore mark made under old rules survives an update.
  std::mutex rules_mutex_;
  FileRuleSet rules_;
  // Whether allowed files may be cached (off when every open must be seen, as in record mode).
  bool caching_ = true;
  uint64_t marked_ = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM;  // the events marked on each mount
  // Judges execs by program path and records them for the kernel's argv check; without it,
  // every exec is allowed and unreported.
  std::shared_ptr<ExecJudge> exec_judge_;

  // Further principals of the session, each in its own cgroup below the session's: an opener
  // whose cgroup (as /proc/<tid>/cgroup names it) is one of theirs is judged by its rules and
  // exec judge; any other opener by `rules_` and `exec_judge_`. Under rules_mutex_.
  struct Principal {
    std::string cgroup;
    FileRuleSet rules;
    std::shared_ptr<ExecJudge> exec_judge;
  };
  std::deque<Principal> principals_;  // a deque: references stay valid as it grows
  std::atomic<bool> has_principals_{false};

  std::atomic<uint64_t> asked_{0}, allowed_{0}, denied_{0}, cached_{0}, dropped_{0};
};

}  // namespace leash
