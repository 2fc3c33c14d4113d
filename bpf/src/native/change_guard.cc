#include "change_guard.h"
#include "errno_text.h"

#include "change_call.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace leash {

namespace {

using change::Creds;
using change::Fd;

constexpr size_t kEventQueueSize = 4096;
constexpr size_t kPathMax = 4096;


}  // namespace

namespace change {

std::string ReadLink(const std::string& link) {
  char buf[kPathMax + 1];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string FdPath(int fd) { return ReadLink("/proc/self/fd/" + std::to_string(fd)); }

}  // namespace change

namespace {

using change::FdPath;
using change::ReadLink;

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool ReadCreds(pid_t pid, Creds* creds) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  int found = 0;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Umask:") {
      std::string octal;
      fields >> octal;
      creds->umask = static_cast<mode_t>(std::strtoul(octal.c_str(), nullptr, 8));
      found++;
    } else if (key == "Uid:" || key == "Gid:") {
      unsigned long ids[4] = {0, 0, 0, 0};
      for (unsigned long& id : ids) fields >> id;
      if (key == "Uid:") creds->fsuid = static_cast<uid_t>(ids[3]);
      else creds->fsgid = static_cast<gid_t>(ids[3]);
      found++;
    } else if (key == "Groups:") {
      unsigned long g;
      while (fields >> g) creds->groups.push_back(static_cast<gid_t>(g));
      found++;
    } else if (key == "CapEff:") {
      std::string hex;
      fields >> hex;
      creds->cap_effective = std::strtoull(hex.c_str(), nullptr, 16);
      found++;
    }
  }
  return found == 5;
}

// The supervisor thread's own credentials, to return to after each change. The raw
// syscalls below change only the calling thread (glibc's wrappers would change them all).
class ThreadCreds {
 public:
  ThreadCreds() {
    own_fsuid_ = geteuid();
    own_fsgid_ = getegid();
    int n = getgroups(0, nullptr);
    own_groups_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (n > 0) getgroups(n, own_groups_.data());
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    syscall(SYS_capget, &header_, own_caps_);
  }

  // Takes on the workload's filesystem identity, capabilities and umask; false if any step
  // failed (the change is then refused).
  bool Assume(const Creds& c) {
    if (syscall(SYS_setgroups, c.groups.size(), c.groups.data()) != 0) return false;
    syscall(SYS_setfsgid, c.fsgid);
    if (static_cast<gid_t>(syscall(SYS_setfsgid, -1)) != c.fsgid) return false;
    syscall(SYS_setfsuid, c.fsuid);
    if (static_cast<uid_t>(syscall(SYS_setfsuid, -1)) != c.fsuid) return false;
    struct __user_cap_data_struct caps[2];
    memcpy(caps, own_caps_, sizeof caps);
    caps[0].effective = static_cast<uint32_t>(c.cap_effective) & own_caps_[0].permitted;
    caps[1].effective = static_cast<uint32_t>(c.cap_effective >> 32) & own_caps_[1].permitted;
    if (syscall(SYS_capset, &header_, caps) != 0) return false;
    umask(c.umask);
    return true;
  }

  void Restore() {
    syscall(SYS_capset, &header_, own_caps_);
    syscall(SYS_setfsuid, own_fsuid_);
    syscall(SYS_setfsgid, own_fsgid_);
    syscall(SYS_setgroups, own_groups_.size(), own_groups_.data());
  }

 private:
  uid_t own_fsuid_;
  gid_t own_fsgid_;
  std::vector<gid_t> own_groups_;
  struct __user_cap_header_struct header_;
  struct __user_cap_data_struct own_caps_[2];
};

long OpenAt2(int dirfd, const std::string& path, uint64_t flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
}

}  // namespace

namespace change {

// Reads a NUL-terminated string from the workload's memory, a page at a time (a string may
// end just before an unmapped page).
int ReadString(int mem_fd, uint64_t addr, std::string* out) {
  if (addr == 0) return EFAULT;
  out->clear();
  char buf[4096];
  while (out->size() <= kPathMax) {
    size_t room = 4096 - (addr % 4096);
    ssize_t n = pread(mem_fd, buf, room, static_cast<off_t>(addr));
    if (n <= 0) return EFAULT;
    void* nul = memchr(buf, '\0', static_cast<size_t>(n));
    if (nul != nullptr) {
      out->append(buf, static_cast<size_t>(static_cast<char*>(nul) - buf));
      return out->size() < kPathMax ? 0 : ENAMETOOLONG;
    }
    out->append(buf, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  return ENAMETOOLONG;
}

// A name through the caller's own descriptor (`/proc/self/fd/N/x`, as tools that avoid
// races write it) names what that descriptor's path names: `/proc/self` inside the sandbox
// means nothing to the supervisor. Returns false when the descriptor has no path.
bool ThroughOwnFd(const std::string& proc, std::string* name) {
  for (const char* prefix : {"/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/"}) {
    size_t len = strlen(prefix);
    if (name->compare(0, len, prefix) != 0) continue;
    size_t end = name->find('/', len);
    std::string number = name->substr(len, end == std::string::npos ? end : end - len);
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) {
      return true;
    }
    std::string target = ReadLink(proc + "/fd/" + number);
    if (target.empty() || target[0] != '/') return false;
    *name = target + (end == std::string::npos ? "" : name->substr(end));
    return true;
  }
  return true;
}

// The relative start of a name: its directory descriptor's path inside the sandbox.
int DirPathOf(const std::string& proc, Change* c, int i) {
  if (c->name[i][0] == '/') return 0;
  c->dir_path[i] = ReadLink(c->dirfd[i] == AT_FDCWD ? proc + "/cwd"
                                                    : proc + "/fd/" + std::to_string(c->dirfd[i]));
  if (c->dir_path[i].empty()) return EBADF;
  return c->dir_path[i][0] == '/' ? 0 : ENOTDIR;
}

}  // namespace change

namespace {

using change::Change;
using change::DirPathOf;
using change::ReadString;
using change::ThroughOwnFd;
using change::DecodeMetadata;
using change::GatherMetadata;
using change::PerformMetadata;
using Op = Change::Op;

// Maps the syscall to the change; false for a call this supervisor does not handle.
bool Decode(const struct seccomp_notif& req, Change* c) {
  const auto* a = req.data.args;
  auto dirfd = [](uint64_t v) { return static_cast<int>(static_cast<int32_t>(v)); };
  switch (req.data.nr) {
#ifdef SYS_rename
    case SYS_rename:
      c->op = Op::Rename;
      return true;
#endif
    case SYS_renameat:
    case SYS_renameat2:
      c->op = Op::Rename;
      c->dirfd[0] = dirfd(a[0]);
      c->dirfd[1] = dirfd(a[2]);
      c->flags = req.data.nr == SYS_renameat2 ? static_cast<uint32_t>(a[4]) : 0;
      return true;
#ifdef SYS_unlink
    case SYS_unlink:
      c->op = Op::Unlink;
      return true;
#endif
    case SYS_unlinkat:
      c->dirfd[0] = dirfd(a[0]);
      c->flags = static_cast<uint32_t>(a[2]);
      c->op = (c->flags & AT_REMOVEDIR) ? Op::Rmdir : Op::Unlink;
      return true;
#ifdef SYS_rmdir
    case SYS_rmdir:
      c->op = Op::Rmdir;
      return true;
#endif
    case SYS_truncate:
      c->op = Op::Truncate;
      c->length = static_cast<off_t>(a[1]);
      return true;
#ifdef SYS_mkdir
    case SYS_mkdir:
      c->op = Op::Mkdir;
      c->mode = static_cast<mode_t>(a[1]);
      return true;
#endif
    case SYS_mkdirat:
      c->op = Op::Mkdir;
      c->dirfd[0] = dirfd(a[0]);
      c->mode = static_cast<mode_t>(a[2]);
      return true;
#ifdef SYS_mknod
    case SYS_mknod:
      c->op = Op::Mknod;
      c->mode = static_cast<mode_t>(a[1]);
      c->dev = static_cast<dev_t>(static_cast<uint32_t>(a[2]));
      return true;
#endif
    case SYS_mknodat:
      c->op = Op::Mknod;
      c->dirfd[0] = dirfd(a[0]);
      c->mode = static_cast<mode_t>(a[2]);
      c->dev = static_cast<dev_t>(static_cast<uint32_t>(a[3]));
      return true;
#ifdef SYS_symlink
    case SYS_symlink:
      c->op = Op::Symlink;
      return true;
#endif
    case SYS_symlinkat:
      c->op = Op::Symlink;
      c->dirfd[0] = dirfd(a[1]);
      return true;
    default:
      return DecodeMetadata(req, c);
  }
}

// Where each path argument lives in the call's arguments.
void PathArguments(const struct seccomp_notif& req, const Change& c, uint64_t addr[2],
                   uint64_t* target) {
  const auto* a = req.data.args;
  bool at = req.data.nr == SYS_renameat || req.data.nr == SYS_renameat2 ||
            req.data.nr == SYS_unlinkat || req.data.nr == SYS_mkdirat ||
            req.data.nr == SYS_mknodat;
  *target = 0;
  if (c.op == Op::Rename) {
    addr[0] = at ? a[1] : a[0];
    addr[1] = at ? a[3] : a[1];
  } else if (c.op == Op::Symlink) {
    *target = a[0];
    addr[0] = req.data.nr == SYS_symlinkat ? a[2] : a[1];
  } else {
    addr[0] = at ? a[1] : a[0];
  }
}

// Reads everything the change needs from the workload's /proc while it waits.
int Gather(const struct seccomp_notif& req, Change* c) {
  std::string proc = "/proc/" + std::to_string(req.pid);
  c->mem = Fd(open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  c->root = Fd(open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!c->mem.ok() || !c->root.ok()) return ESRCH;
  if (c->metadata()) {
    int err = GatherMetadata(req, proc, c);
    if (err != 0) return err;
    std::ifstream(proc + "/comm") >> c->comm;
    return ReadCreds(req.pid, &c->creds) ? 0 : ESRCH;
  }

  uint64_t addr[2] = {0, 0}, target = 0;
  PathArguments(req, *c, addr, &target);
  for (int i = 0; i < c->names(); i++) {
    int err = ReadString(c->mem.get(), addr[i], &c->name[i]);
    if (err != 0) return err;
    if (c->name[i].empty()) return ENOENT;
    if (!ThroughOwnFd(proc, &c->name[i])) return ENOTDIR;
    err = DirPathOf(proc, c, i);
    if (err != 0) return err;
  }
  if (c->op == Op::Symlink) {
    int err = ReadString(c->mem.get(), target, &c->link_target);
    if (err != 0) return err;
    if (c->link_target.empty()) return ENOENT;
  }

  std::string comm;
  std::ifstream(proc + "/comm") >> comm;
  c->comm = comm;
  return ReadCreds(req.pid, &c->creds) ? 0 : ESRCH;
}

// Resolves name `i` inside the workload's root: its parent directory for most calls (the
// last component is never followed), the file itself for truncate (which follows it).
int Resolve(Change* c, int i) {
  if (c->metadata() && c->path_arg < 0) {
    // The caller's own descriptor: the file it has open, whatever names it now.
    c->path[i] = FdPath(c->file.get());
    return c->path[i].empty() ? EBADF : 0;
  }
  std::string name = c->name[i];
  if (name[0] != '/') name = Join(c->dir_path[i], name);

  if (c->op == Op::Truncate || c->metadata()) {
    // A metadata change of a symlink itself (lchown, AT_SYMLINK_NOFOLLOW) names the link.
    long fd = OpenAt2(c->root.get(), name, O_PATH | (c->nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) return errno;
    c->parent[i] = Fd(static_cast<int>(fd));
    c->path[i] = FdPath(c->parent[i].get());
    return c->path[i].empty() ? ENOENT : 0;
  }

  bool trailing_slash = name.size() > 1 && name.back() == '/';
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  size_t slash = name.rfind('/');
  std::string parent = slash == 0 ? "/" : name.substr(0, slash);
  c->base[i] = name == "/" ? "." : name.substr(slash + 1);

  long fd = OpenAt2(c->root.get(), parent, O_PATH | O_DIRECTORY);
  if (fd < 0) return errno;
  c->parent[i] = Fd(static_cast<int>(fd));
  std::string real = FdPath(c->parent[i].get());
  if (real.empty() || real[0] != '/') return ENOENT;
  c->path[i] = Join(real, c->base[i]);

  // A trailing slash names a directory: on anything else the kernel says ENOTDIR.
  struct stat st;
  if (trailing_slash && fstatat(c->parent[i].get(), c->base[i].c_str(), &st,
                                AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
    return ENOTDIR;
  }
  return 0;
}

// Performs the change on exactly the descriptors that were judged; 0 or an errno.
int Perform(const Change& c) {
  if (c.metadata()) return PerformMetadata(c);
  int p0 = c.parent[0].get();
  const char* b0 = c.base[0].c_str();
  long r = 0;
  switch (c.op) {
    case Op::Rename:
      r = syscall(SYS_renameat2, p0, b0, c.parent[1].get(), c.base[1].c_str(),
                  static_cast<unsigned>(c.flags));
      break;
    case Op::Unlink:
      r = unlinkat(p0, b0, static_cast<int>(c.flags));
      break;
    case Op::Rmdir:
      r = unlinkat(p0, b0, static_cast<int>(c.flags) | AT_REMOVEDIR);
      break;
    case Op::Truncate: {
      // truncate(2) by path does no open (so no fanotify event); the magic link names
      // exactly the inode that was judged.
      std::string self = "/proc/self/fd/" + std::to_string(p0);
      r = truncate(self.c_str(), c.length);
      break;
    }
    case Op::Mkdir:
      r = mkdirat(p0, b0, c.mode);
      break;
    case Op::Mknod:
      r = mknodat(p0, b0, c.mode, c.dev);
      break;
    case Op::Symlink:
      r = symlinkat(c.link_target.c_str(), p0, b0);
      break;
    default:
      return ENOSYS;
  }
  return r == 0 ? 0 : errno;
}

}  // namespace

Napi::Function ChangeGuard::Define(Napi::Env env) {
  return DefineClass(env, "ChangeGuard",
                     {InstanceMethod("addListener", &ChangeGuard::AddListener),
                      InstanceMethod("update", &ChangeGuard::Update),
                      InstanceMethod("close", &ChangeGuard::Close),
                      InstanceMethod("stats", &ChangeGuard::Stats)});
}

ChangeGuard::ChangeGuard(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ChangeGuard>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "ChangeGuard(rules, onEvent)");
  }
  rules_ = ParseFileRules(env, info[0]);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw Napi::Error::New(env, "ChangeGuard: eventfd failed: " + ErrnoText(errno));
  on_event_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(),
                                            "leash-change-events", kEventQueueSize, 1);
  closed_ = false;
  supervisor_ = std::thread(&ChangeGuard::SuperviseLoop, this);
}

ChangeGuard::~ChangeGuard() { Stop(); }

Napi::Value ChangeGuard::AddListener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "ChangeGuard.addListener: the guard is closed");
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "ChangeGuard.addListener(fd: number)");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (FdPath(fd) != "anon_inode:seccomp notify") {
    throw Napi::Error::New(env, "ChangeGuard.addListener: descriptor " + std::to_string(fd) +
                                    " is not a seccomp listener");
  }
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    pending_.push_back(fd);
  }
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) != sizeof one) {
    // An eventfd write fails only on overflow; the pending listener is taken at next wake.
  }
  return env.Undefined();
}

void ChangeGuard::SuperviseLoop() {
  // umask lives in the fs struct: unshared, this thread can take on the workload's.
  unshare(CLONE_FS);
  std::vector<int> listeners;
  for (;;) {
    std::vector<struct pollfd> fds;
    fds.push_back({wake_fd_, POLLIN, 0});
    for (int l : listeners) fds.push_back({l, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      if (read(wake_fd_, &count, sizeof count) < 0) {
        // EAGAIN: another wake already drained it.
      }
      if (stopping_) break;
      std::lock_guard<std::mutex> lock(pending_mutex_);
      listeners.insert(listeners.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    std::vector<int> live;
    for (size_t i = 1; i < fds.size(); i++) {
      int l = fds[i].fd;
      bool keep = true;
      if (fds[i].revents & POLLIN) keep = Handle(l);
      else if (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL)) keep = false;
      if (keep) live.push_back(l);
      else close(l);
    }
    for (int l : listeners) {
      bool polled = false;
      for (size_t i = 1; i < fds.size(); i++) polled = polled || fds[i].fd == l;
      if (!polled) live.push_back(l);
    }
    listeners.swap(live);
  }
  // Closing the listeners makes every pending and later intercepted call fail with ENOSYS.
  for (int l : listeners) close(l);
}

bool ChangeGuard::Handle(int listener) {
  struct seccomp_notif req;
  memset(&req, 0, sizeof req);
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
    // ENOENT: the caller was gone before it was read. Anything else ends this listener.
    return errno == ENOENT || errno == EINTR;
  }
  asked_++;

  Change change;
  change.pid = static_cast<pid_t>(req.pid);
  int err = Decode(req, &change) ? Gather(req, &change) : ENOSYS;

  // What was read belongs to the waiting call only if it still waits (pid reuse, exit).
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) return true;

  if (err == 0) err = Decide(change);

  struct seccomp_notif_resp resp;
  memset(&resp, 0, sizeof resp);
  resp.id = req.id;
  resp.error = err == 0 ? 0 : -err;
  resp.val = 0;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
    // ENOENT: the caller was killed while the change was made.
  }
  return true;
}

// Judges and performs one change with the workload's credentials; 0 or the errno to return.
int ChangeGuard::Decide(Change& c) {
  thread_local ThreadCreds own;
  if (!own.Assume(c.creds)) {
    own.Restore();
    return EPERM;
  }
  int err = 0;
  for (int i = 0; i < c.names() && err == 0; i++) err = Resolve(&c, i);
  if (err != 0) {
    own.Restore();
    return err;
  }

  // Creating a name that exists changes nothing: the kernel's answer comes before any
  // permission check, so it comes before the policy's too (`mkdir -p` relies on it).
  struct stat st;
  bool creates = c.op == Op::Mkdir || c.op == Op::Mknod || c.op == Op::Symlink;
  if (creates && fstatat(c.parent[0].get(), c.base[0].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    own.Restore();
    return EEXIST;
  }

  std::lock_guard<std::mutex> lock(rules_mutex_);
  bool allowed = true;
  // Moving or removing a name moves or removes everything below it, and a symlink placed
  // above a protected path would give that path a new meaning.
  bool carries = c.op == Op::Rename || c.op == Op::Unlink || c.op == Op::Rmdir ||
                 c.op == Op::Symlink;
  for (int i = 0; i < c.names() && allowed; i++) {
    if (!AllowsWrite(rules_, c.path[i])) {
      allowed = false;
      c.denied = c.path[i];
    } else if (carries && !ForbidBelow(rules_, c.path[i]).empty()) {
      allowed = false;
      c.denied = c.path[i];
    }
  }
  err = allowed ? Perform(c) : EPERM;
  own.Restore();
  (allowed ? allowed_ : denied_)++;
  Emit(c, allowed);
  return err;
}

struct ChangeEventData {
  std::string op, path, to, denied, comm;
  bool allowed;
  int pid;
};

void ChangeGuard::Emit(const Change& c, bool allowed) {
  auto* data = new ChangeEventData{c.OpName(), c.path[0], c.op == Op::Rename ? c.path[1] : "",
                                   c.denied,  c.comm,    allowed, c.pid};
  napi_status status = on_event_.NonBlockingCall(
      data, [](Napi::Env env, Napi::Function fn, ChangeEventData* d) {
        if (env != nullptr && fn != nullptr) {
          Napi::Object e = Napi::Object::New(env);
          e.Set("op", d->op);
          e.Set("path", d->path);
          if (!d->to.empty()) e.Set("to", d->to);
          e.Set("decision", d->allowed ? "allow" : "deny");
          if (!d->denied.empty()) e.Set("denied", d->denied);
          e.Set("pid", d->pid);
          e.Set("comm", d->comm);
          fn.Call({e});
        }
        delete d;
      });
  if (status != napi_ok) {
    delete data;
    dropped_++;
  }
}

Napi::Value ChangeGuard::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "ChangeGuard.update: the guard is closed");
  FileRuleSet rules = ParseFileRules(env, info[0]);
  std::lock_guard<std::mutex> lock(rules_mutex_);
  rules_ = std::move(rules);
  return env.Undefined();
}

void ChangeGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  stopping_ = true;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) != sizeof one) {
    // An eventfd write fails only on overflow, which one write cannot reach.
  }
  if (supervisor_.joinable()) supervisor_.join();
  close(wake_fd_);
  std::lock_guard<std::mutex> lock(pending_mutex_);
  for (int l : pending_) close(l);
  pending_.clear();
  on_event_.Release();
}

Napi::Value ChangeGuard::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

Napi::Value ChangeGuard::Stats(const Napi::CallbackInfo& info) {
  Napi::Object s = Napi::Object::New(info.Env());
  s.Set("asked", static_cast<double>(asked_.load()));
  s.Set("allowed", static_cast<double>(allowed_.load()));
  s.Set("denied", static_cast<double>(denied_.load()));
  s.Set("dropped", static_cast<double>(dropped_.load()));
  return s;
}

int TakeSeccompListener(Napi::Env env, int pid, int fd) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    throw Napi::Error::New(env, "takeSeccompListener: pidfd_open(" + std::to_string(pid) +
                                    ") failed: " + ErrnoText(errno));
  }
  int copy = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int err = errno;
  close(pidfd);
  if (copy < 0) {
    throw Napi::Error::New(env, "takeSeccompListener: pidfd_getfd(" + std::to_string(pid) +
                                    ", " + std::to_string(fd) + ") failed: " + ErrnoText(err));
  }
  if (FdPath(copy) != "anon_inode:seccomp notify") {
    close(copy);
    throw Napi::Error::New(env, "takeSeccompListener: descriptor " + std::to_string(fd) +
                                    " of process " + std::to_string(pid) +
                                    " is not a seccomp listener");
  }
  return copy;
}

}  // namespace leash
