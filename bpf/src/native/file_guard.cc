#include "file_guard.h"
#include "errno_text.h"

#include "exec_argv.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;


std::string ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// The mount ids of leashd's own mount namespace: never to be marked.
std::set<uint64_t> OwnMountIds() {
  std::set<uint64_t> ids;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    ids.insert(std::strtoull(line.c_str(), nullptr, 10));
  }
  return ids;
}

// The opener's cgroup v2 path (the `0::` line of /proc/<tid>/cgroup), "" when unreadable.
// The workload cannot change it: it cannot move itself between cgroups.
std::string OpenerCgroup(int tid) {
  std::string path = "/proc/" + std::to_string(tid) + "/cgroup";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  size_t at = text.rfind("0::", 0) == 0 ? 0 : text.find("\n0::");
  if (at == std::string::npos) return "";
  if (at != 0) at++;
  size_t end = text.find('\n', at);
  return text.substr(at + 3, end == std::string::npos ? std::string::npos : end - at - 3);
}

bool IsOpenSyscall(long nr) {
#ifdef SYS_open
  if (nr == SYS_open) return true;
#endif
  return nr == SYS_openat;
}

int OpenFlagsArgument(long nr, const std::vector<unsigned long long>& args) {
#ifdef SYS_open
  if (nr == SYS_open) return static_cast<int>(args[1]);
#endif
  (void)nr;
  return static_cast<int>(args[2]);
}

}  // namespace

Napi::Function FileGuard::Define(Napi::Env env) {
  return DefineClass(env, "FileGuard",
                     {InstanceMethod("update", &FileGuard::Update),
                      InstanceMethod("addPrincipal", &FileGuard::AddPrincipal),
                      InstanceMethod("close", &FileGuard::Close),
                      InstanceMethod("stats", &FileGuard::Stats),
                      InstanceMethod("groupFd", &FileGuard::GroupFd)});
}

FileGuard::FileGuard(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FileGuard>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "FileGuard(mountPoints: string[], rules, onEvent)");
  }
  closed_ = true;  // until the answerer runs, Stop() has nothing to stop
  rules_ = ParseFileRules(env, info[1]);
  if (info.Length() > 3 && info[3].IsBoolean()) caching_ = info[3].As<Napi::Boolean>().Value();
  if (info.Length() > 4 && info[4].IsObject()) {
    exec_judge_ = ExecGuard::Unwrap(info[4].As<Napi::Object>())->judge();
    if (!exec_judge_) throw Napi::Error::New(env, "FileGuard: the ExecGuard given is closed");
  }
  // Execs only: where the lsm backend judges opens, this group serves the exec judge alone.
  if (info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value()) {
    marked_ = FAN_OPEN_EXEC_PERM;
  }

  group_fd_ = fanotify_init(FAN_CLASS_CONTENT | FAN_REPORT_TID | FAN_CLOEXEC | FAN_NONBLOCK,
                            O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (group_fd_ < 0) {
    throw Napi::Error::New(env, "FileGuard: fanotify_init failed: " + ErrnoText(errno) +
                                    "; the portable backend needs root and fanotify");
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    int err = errno;
    close(group_fd_);
    throw Napi::Error::New(env, "FileGuard: eventfd failed: " + ErrnoText(err));
  }

  try {
    Napi::Array mounts = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < mounts.Length(); i++) {
      Napi::Value m = mounts.Get(i);
      if (!m.IsString()) throw Napi::TypeError::New(env, "FileGuard: mountPoints must be strings");
      Mark(env, m.As<Napi::String>().Utf8Value());
    }
  } catch (...) {
    close(group_fd_);
    close(stop_fd_);
    throw;
  }

  on_event_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "leash-file-events",
                                            kEventQueueSize, 1);
  closed_ = false;
  answerer_ = std::thread(&FileGuard::AnswerLoop, this);
}

FileGuard::~FileGuard() { Stop(); }

// Marks the mount that holds `mount_point`, refusing any mount of leashd's own namespace:
// a stalled answerer must never stall the host.
void FileGuard::Mark(Napi::Env env, const std::string& mount_point) {
  struct statx stx;
  if (statx(AT_FDCWD, mount_point.c_str(), 0, STATX_MNT_ID, &stx) != 0) {
    throw Napi::Error::New(env, "FileGuard: cannot stat mount point " + mount_point + ": " +
                                    ErrnoText(errno));
  }
  if ((stx.stx_mask & STATX_MNT_ID) && OwnMountIds().count(stx.stx_mnt_id) != 0) {
    throw Napi::Error::New(env, "FileGuard: refusing to mark " + mount_point +
                                    ": it is a mount of this process's own mount namespace; "
                                    "pass the sandbox's view of it under /proc/<pid>/root");
  }
  if (fanotify_mark(group_fd_, FAN_MARK_ADD | FAN_MARK_MOUNT, marked_, AT_FDCWD,
                    mount_point.c_str()) != 0) {
    throw Napi::Error::New(env, "FileGuard: fanotify_mark on " + mount_point + " failed: " +
                                    ErrnoText(errno));
  }
}

void FileGuard::AnswerLoop() {
  alignas(struct fanotify_event_metadata) char buf[16384];
  struct pollfd fds[2] = {{group_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};

  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & POLLIN) return;

    // Reading a fanotify group fails only for a bad descriptor or buffer; the loop then
    // ends and later opens wait, unanswered, until the group closes: it fails closed.
    ssize_t len = read(group_fd_, buf, sizeof buf);
    if (len < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    auto* md = reinterpret_cast<struct fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
      if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0) continue;
      Answer(md->fd, md->pid, md->mask);
    }
  }
}

// Reads what the waiting opener asked for from its syscall arguments: true for exec (exec's
// own open and the opens the kernel does for it), else sets read and write. Anything not
// understood (openat2, whose flags live in memory the opener could change after the kernel
// copied them; io_uring; an unknown syscall) needs both read and write to be allowed.
static bool ReadAccess(int tid, uint64_t mask, bool* read, bool* write) {
  if (mask & FAN_OPEN_EXEC_PERM) return true;
  // The opener queues its event before it goes to sleep, so the answerer can read its syscall
  // file while it still shows "running"; wait (briefly, bounded) until it shows the syscall.
  std::string syscall_path = "/proc/" + std::to_string(tid) + "/syscall";
  std::string text = ReadSmallFile(syscall_path);
  for (int tries = 0; tries < 2000 && text.rfind("running", 0) == 0; tries++) {
    if (tries > 50) usleep(10);
    else sched_yield();
    text = ReadSmallFile(syscall_path);
  }
  std::istringstream fields(text);
  long nr = -1;
  std::vector<unsigned long long> args;
  fields >> nr;
  std::string arg;
  while (args.size() < 6 && fields >> arg) args.push_back(std::strtoull(arg.c_str(), nullptr, 16));

  if (nr == SYS_execve || nr == SYS_execveat) return true;
  *read = true;
  *write = true;
  if (IsOpenSyscall(nr) && args.size() == 6) {
    int flags = OpenFlagsArgument(nr, args);
    int mode = flags & O_ACCMODE;
    // Access mode 3 (O_WRONLY|O_RDWR) is not a mode the kernel names; count it as both.
    *read = mode != O_WRONLY;
    *write = mode != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)) != 0;
  }
  return false;
}

void FileGuard::Answer(int event_fd, int tid, uint64_t mask) {
  asked_++;
  bool read = false, write = false;
  bool exec = ReadAccess(tid, mask, &read, &write);

  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", event_fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  std::string path = n > 0 ? std::string(target, static_cast<size_t>(n)) : "";

  // The opener's principal: one of the further principals by its cgroup, else the session's.
  std::string cgroup = has_principals_ ? OpenerCgroup(tid) : "";
  std::shared_ptr<ExecJudge> exec_judge;
  const FileRuleSet* rules = &rules_;
  std::unique_lock<std::mutex> lock(rules_mutex_);
  exec_judge = exec_judge_;
  bool theirs = false;
  for (const Principal& p : principals_) {
    if (p.cgroup != cgroup) continue;
    rules = &p.rules;
    exec_judge = p.exec_judge;
    theirs = true;
  }
  lock.unlock();
  if (!theirs) cgroup.clear();

  bool allowed;
  bool judged_exec = exec && (mask & FAN_OPEN_EXEC_PERM) && exec_judge;
  ExecJudge::Verdict verdict = ExecJudge::Verdict::Allow;
  if (judged_exec) verdict = exec_judge->Judge(tid, event_fd, path);
  if (judged_exec && verdict == ExecJudge::Verdict::Loader) {
    // The dynamic loader, mapped for a program (or run directly, which exec.bpf.c judges):
    // a library the program loads, so a read of it.
    exec = false;
    read = true;
    std::lock_guard<std::mutex> relock(rules_mutex_);
    allowed = !path.empty() && AllowsRead(*rules, path);
  } else if (exec) {
    // Without an exec judge, and for the plain open event that accompanies every exec open
    // (judged at its exec event just before), the exec's own open passes.
    allowed = !judged_exec || verdict == ExecJudge::Verdict::Allow;
  } else {
    std::lock_guard<std::mutex> relock(rules_mutex_);
    bool may_read = !path.empty() && AllowsRead(*rules, path);
    bool may_write = !path.empty() && AllowsWrite(*rules, path);
    allowed = (!read || may_read) && (!write || may_write);

    // An ignore mark skips every later open of the inode, writes included, by every principal
    // of the session, so cache only files every principal may both read and write. It
    // follows the inode: another name of the same file (a hard link) is then allowed too,
    // whatever rules name that path.
    // A file with other names (hard links) is never cached: its other names may be ruled
    // differently, and a cache entry would answer for all of them.
    struct stat st;
    bool single_name = fstat(event_fd, &st) == 0 && st.st_nlink <= 1;
    if (caching_ && single_name && may_read && may_write && AllowedForAll(path) &&
        fanotify_mark(group_fd_, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK |
                                     FAN_MARK_IGNORED_SURV_MODIFY,
                      FAN_OPEN_PERM, event_fd, nullptr) == 0) {
      cached_++;
    }
  }
  std::string comm;
  std::vector<std::string> argv;
  if (exec && judged_exec && !allowed) argv = RequestedArgv(tid);  // while it still waits
  if (!exec || (judged_exec && !allowed)) {
    comm = ReadSmallFile("/proc/" + std::to_string(tid) + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  }

  struct fanotify_response response = {event_fd, static_cast<__u32>(allowed ? FAN_ALLOW : FAN_DENY)};
  if (::write(group_fd_, &response, sizeof response) != sizeof response) {
    // The opener was killed while waiting: the kernel dropped its event.
  }
  close(event_fd);
  (allowed ? allowed_ : denied_)++;

  // An allowed exec is reported by the ExecGuard once it starts, with its argv.
  if (exec && (!judged_exec || allowed)) return;
  Access access = exec            ? Access::Exec
                  : read && write ? Access::ReadWrite
                  : write         ? Access::Write
                                  : Access::Read;
  Emit(std::move(path), access, allowed, tid, std::move(comm), std::move(argv),
       std::move(cgroup));
}

bool FileGuard::AllowedForAll(const std::string& path) const {
  if (!AllowsRead(rules_, path) || !AllowsWrite(rules_, path)) return false;
  for (const Principal& p : principals_) {
    if (!AllowsRead(p.rules, path) || !AllowsWrite(p.rules, path)) return false;
  }
  return true;
}

struct FileEventData {
  std::string path;
  const char* access;
  bool allowed;
  int pid;
  std::string comm;
  std::vector<std::string> argv;  // a refused exec's argv as requested
  std::string cgroup;             // a further principal's cgroup, or ""
};

void FileGuard::Emit(std::string path, Access access, bool allowed, int tid, std::string comm,
                     std::vector<std::string> argv, std::string cgroup) {
  const char* name = access == Access::ReadWrite ? "readwrite"
                     : access == Access::Write   ? "write"
                     : access == Access::Exec    ? "exec"
                                                 : "read";
  auto* data =
      new FileEventData{std::move(path), name,           allowed,
                        tid,             std::move(comm), std::move(argv), std::move(cgroup)};
  napi_status status = on_event_.NonBlockingCall(
      data, [](Napi::Env env, Napi::Function fn, FileEventData* d) {
        if (env != nullptr && fn != nullptr) {
          Napi::Object e = Napi::Object::New(env);
          e.Set("path", d->path);
          e.Set("access", d->access);
          e.Set("decision", d->allowed ? "allow" : "deny");
          e.Set("pid", d->pid);
          e.Set("comm", d->comm);
          if (!d->cgroup.empty()) e.Set("cgroup", d->cgroup);
          if (!d->argv.empty()) {
            Napi::Array argv = Napi::Array::New(env, d->argv.size());
            for (size_t i = 0; i < d->argv.size(); i++) argv.Set(i, d->argv[i]);
            e.Set("argv", argv);
          }
          fn.Call({e});
        }
        delete d;
      });
  if (status != napi_ok) {
    delete data;
    dropped_++;
  }
}

Napi::Value FileGuard::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "FileGuard.update: the guard is closed");
  FileRuleSet rules = ParseFileRules(env, info[0]);
  // Further principals' new rules, by cgroup: [[cgroup, rules], ...]; each must be known.
  std::vector<std::pair<std::string, FileRuleSet>> theirs;
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array pairs = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < pairs.Length(); i++) {
      Napi::Value pair = pairs.Get(i);
      if (!pair.IsArray() || !pair.As<Napi::Array>().Get(0u).IsString()) {
        throw Napi::TypeError::New(env, "FileGuard.update: principals must be [cgroup, rules][]");
      }
      Napi::Array p = pair.As<Napi::Array>();
      theirs.emplace_back(p.Get(0u).As<Napi::String>().Utf8Value(),
                          ParseFileRules(env, p.Get(1u)));
    }
  }

  std::lock_guard<std::mutex> lock(rules_mutex_);
  for (const auto& [cgroup, unused] : theirs) {
    bool known = false;
    for (const Principal& p : principals_) known = known || p.cgroup == cgroup;
    if (!known) {
      throw Napi::Error::New(env, "FileGuard.update: no principal in cgroup " + cgroup +
                                      "; add it with addPrincipal first");
    }
  }
  rules_ = std::move(rules);
  for (auto& [cgroup, their_rules] : theirs) {
    for (Principal& p : principals_) {
      if (p.cgroup == cgroup) p.rules = std::move(their_rules);
    }
  }
  if (info.Length() > 1 && info[1].IsBoolean()) caching_ = info[1].As<Napi::Boolean>().Value();
  // Inode marks are only ever the allow cache here; the mount marks stay.
  if (fanotify_mark(group_fd_, FAN_MARK_FLUSH, 0, AT_FDCWD, nullptr) != 0) {
    throw Napi::Error::New(env, "FileGuard.update: flushing the allow cache failed: " +
                                    ErrnoText(errno));
  }
  return env.Undefined();
}

// addPrincipal(cgroup, rules, execGuard?): openers in `cgroup` (as /proc/<pid>/cgroup names
// it) are judged by these rules and that guard's exec rules from now on. The allow cache is
// flushed, as what it holds was allowed for the principals known until now.
Napi::Value FileGuard::AddPrincipal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "FileGuard.addPrincipal: the guard is closed");
  if (info.Length() < 2 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "FileGuard.addPrincipal(cgroup: string, rules, execGuard?)");
  }
  Principal principal{info[0].As<Napi::String>().Utf8Value(), ParseFileRules(env, info[1]),
                      nullptr};
  if (principal.cgroup.empty() || principal.cgroup[0] != '/') {
    throw Napi::TypeError::New(env, "FileGuard.addPrincipal: the cgroup `" + principal.cgroup +
                                        "` must be a path from the cgroup v2 root, as in "
                                        "/proc/<pid>/cgroup");
  }
  if (info.Length() > 2 && info[2].IsObject()) {
    principal.exec_judge = ExecGuard::Unwrap(info[2].As<Napi::Object>())->judge();
    if (!principal.exec_judge) {
      throw Napi::Error::New(env, "FileGuard.addPrincipal: the ExecGuard given is closed");
    }
  }

  std::lock_guard<std::mutex> lock(rules_mutex_);
  for (const Principal& p : principals_) {
    if (p.cgroup == principal.cgroup) {
      throw Napi::Error::New(env, "FileGuard.addPrincipal: cgroup " + principal.cgroup +
                                      " already has a principal");
    }
  }
  principals_.push_back(std::move(principal));
  has_principals_ = true;
  if (fanotify_mark(group_fd_, FAN_MARK_FLUSH, 0, AT_FDCWD, nullptr) != 0) {
    throw Napi::Error::New(env, "FileGuard.addPrincipal: flushing the allow cache failed: " +
                                    ErrnoText(errno));
  }
  return env.Undefined();
}

void FileGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) != sizeof one) {
    // An eventfd write fails only on overflow, which one write cannot reach.
  }
  if (answerer_.joinable()) answerer_.join();
  close(group_fd_);
  close(stop_fd_);
  on_event_.Release();
}

Napi::Value FileGuard::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

// The fanotify group's descriptor, for a keeper process to hold: while any process holds
// the group, unanswered opens wait instead of proceeding.
Napi::Value FileGuard::GroupFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), closed_ ? -1 : group_fd_);
}

Napi::Value FileGuard::Stats(const Napi::CallbackInfo& info) {
  Napi::Object s = Napi::Object::New(info.Env());
  s.Set("asked", static_cast<double>(asked_.load()));
  s.Set("allowed", static_cast<double>(allowed_.load()));
  s.Set("denied", static_cast<double>(denied_.load()));
  s.Set("cached", static_cast<double>(cached_.load()));
  s.Set("dropped", static_cast<double>(dropped_.load()));
  return s;
}

}  // namespace leash
