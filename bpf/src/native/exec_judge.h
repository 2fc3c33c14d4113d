// The exec judge of a session's FileGuard: the verdict of a program's path at each exec's
// permission event, and the records exec.bpf.c judges the new image's argv by.
#pragma once

#include <napi.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "exec_rules.h"

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
  const uint64_t hash_key_;
  const int sets_fd_, rules_fd_, active_fd_, programs_fd_, scripts_fd_, loaders_fd_;
  const std::set<std::string> trusted_;
};

}  // namespace leash
