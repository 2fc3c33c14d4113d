#include "exec_judge.h"
#include "errno_text.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace leash {

namespace {

// Paths kept for execs whose event never came (the exec failed after its check).
constexpr size_t kMaxPendingPaths = 16384;


// The kernel's own encoding of a device number, as exec.bpf.c reads it from the superblock.
uint32_t KernelDev(dev_t dev) { return (major(dev) << 20) | minor(dev); }

// For a `#!` script (its interpreter runs in its place), how many entries the kernel puts
// before the script's own argv[1..]: the script's path, after the line's optional argument
// (as fs/binfmt_script.c splits the first line); 0 for anything else.
uint32_t ScriptHandoffEntries(int fd) {
  char head[256];
  ssize_t n = pread(fd, head, sizeof head, 0);
  if (n < 2 || head[0] != '#' || head[1] != '!') return 0;
  std::string line(head + 2, static_cast<size_t>(n) - 2);
  line = line.substr(0, line.find('\n'));
  line = line.substr(0, line.find('\0'));
  size_t name = line.find_first_not_of(" \t");
  if (name == std::string::npos) return 1;  // no interpreter: the kernel refuses it
  size_t after = line.find_first_of(" \t", name);
  if (after == std::string::npos) return 1;
  return line.find_first_not_of(" \t", after) == std::string::npos ? 1 : 2;
}

void Write(int fd, const void* key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) {
    throw std::runtime_error(std::string("ExecGuard: writing ") + what + " failed: " +
                             ErrnoText(errno));
  }
}

}  // namespace

ExecJudge::ExecJudge(uint64_t hash_key, int sets_fd, int rules_fd, int active_fd,
                     int programs_fd, int scripts_fd, int loaders_fd,
                     std::set<std::string> trusted)
    : hash_key_(hash_key),
      sets_fd_(dup(sets_fd)),
      rules_fd_(dup(rules_fd)),
      active_fd_(dup(active_fd)),
      programs_fd_(dup(programs_fd)),
      scripts_fd_(dup(scripts_fd)),
      loaders_fd_(dup(loaders_fd)),
      trusted_(std::move(trusted)) {}

ExecJudge::~ExecJudge() {
  for (int fd : {sets_fd_, rules_fd_, active_fd_, programs_fd_, scripts_fd_, loaders_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void ExecJudge::Install(Napi::Env env, Napi::Value value, bool quiet_allowed) {
  ExecRuleSet parsed = ParseExecRules(env, value, hash_key_);

  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t next = generation_ + 1;
  __u32 slot = next & 1;
  try {
    for (size_t i = 0; i < parsed.rules.size(); i++) {
      __u32 key = slot * LEASH_EXEC_MAX_RULES + static_cast<__u32>(i);
      Write(rules_fd_, &key, &parsed.rules[i].kernel, "an exec rule");
    }
    leash_exec_set set;
    memset(&set, 0, sizeof set);
    set.generation = next;
    set.forbid_mask = parsed.forbid_mask;
    set.argv_mask = parsed.argv_mask;
    set.unknown_mask = parsed.unknown_mask;
    set.count = static_cast<__u32>(parsed.rules.size());
    set.loader_allowed = parsed.loader_allowed ? 1 : 0;
    set.quiet_allowed = quiet_allowed ? 1 : 0;
    Write(sets_fd_, &slot, &set, "the exec rule set");
    __u32 zero = 0;
    Write(active_fd_, &zero, &next, "the active exec rule set");
  } catch (const std::runtime_error& err) {
    throw Napi::Error::New(env, err.what());
  }
  generation_ = next;
  rules_ = std::move(parsed);
}

ExecJudge::Verdict ExecJudge::Judge(int tid, int event_fd, const std::string& path) {
  struct stat st;
  if (fstat(event_fd, &st) != 0) return Verdict::Deny;

  std::lock_guard<std::mutex> lock(mutex_);
  if (IsDynamicLoader(path)) {
    leash_exec_file file;
    memset(&file, 0, sizeof file);
    file.ino = st.st_ino;
    file.dev = KernelDev(st.st_dev);
    __u8 one = 1;
    // Unrecorded, a direct run of the loader would pass as an unknown program.
    if (bpf_map_update_elem(loaders_fd_, &file, &one, BPF_ANY) != 0) return Verdict::Deny;
    return Verdict::Loader;
  }

  bool trusted = trusted_.count(path) != 0;
  uint64_t mask = trusted ? 0 : ProgramMask(rules_, path);
  PathVerdict verdict = trusted ? PathVerdict::Allow : JudgePath(rules_, mask);
  if (verdict == PathVerdict::Deny) return Verdict::Deny;

  leash_exec_program record;
  memset(&record, 0, sizeof record);
  record.ino = st.st_ino;
  record.dev = KernelDev(st.st_dev);
  record.generation = generation_;
  record.mask = mask;
  record.trusted = trusted ? 1 : 0;
  record.skip = trusted ? 0 : ScriptHandoffEntries(event_fd);
  __u32 key = static_cast<__u32>(tid);
  // A script's interpreter makes the program record next; the script keeps its own.
  int map = record.skip > 0 ? scripts_fd_ : programs_fd_;
  if (bpf_map_update_elem(map, &key, &record, BPF_ANY) != 0) return Verdict::Deny;
  if (path_count_ >= kMaxPendingPaths) {
    paths_.clear();
    path_count_ = 0;
  }
  paths_[tid].push_back({record.ino, record.dev, record.skip > 0, path});
  path_count_++;
  return Verdict::Allow;
}

std::string ExecJudge::TakePath(int tid, uint64_t ino, uint32_t dev, std::string* script) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = paths_.find(tid);
  if (found == paths_.end()) return "";
  std::deque<JudgedPath>& queue = found->second;
  std::string program;
  while (!queue.empty() && program.empty()) {
    JudgedPath judged = std::move(queue.front());
    queue.pop_front();
    path_count_--;
    if (judged.script) {
      *script = std::move(judged.path);
    } else if (judged.ino == ino && judged.dev == dev) {
      program = std::move(judged.path);
    } else {
      script->clear();  // an exec that never started, and any script that led to it
    }
  }
  if (queue.empty()) paths_.erase(found);
  return program;
}

}  // namespace leash
