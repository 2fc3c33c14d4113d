#include "change_guard.h"

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

// Calls newer than the C library's headers; their numbers are the same on every architecture.
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;
constexpr size_t kXattrValueMax = 65536;  // the kernel's XATTR_SIZE_MAX
constexpr size_t kPathMax = 4096;

std::string ErrnoText(int err) {
  return std::string(strerror(err)) + " (errno " + std::to_string(err) + ")";
}

// A descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) close(fd_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string ReadLink(const std::string& link) {
  char buf[kPathMax + 1];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string FdPath(int fd) { return ReadLink("/proc/self/fd/" + std::to_string(fd)); }

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Credentials of the workload's thread, applied to the supervisor's thread for each change.
struct Creds {
  uid_t fsuid = 0;
  gid_t fsgid = 0;
  std::vector<gid_t> groups;
  uint64_t cap_effective = 0;
  mode_t umask = 022;
};

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

long OpenAt2(int dirfd, const std::string& path, uint64_t flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
}

}  // namespace

// One intercepted call: what it names, resolved to descriptors the supervisor holds.
struct ChangeGuard::Change {
  enum class Op {
    Rename,
    Unlink,
    Rmdir,
    Truncate,
    Mkdir,
    Mknod,
    Symlink,
    // Metadata changes of one file, named by path or by the caller's descriptor.
    Chmod,
    Chown,
    SetXattr,
    RemoveXattr,
    Utimes,
  };
  Op op;
  pid_t pid = 0;
  std::string comm;

  // The workload's view: its root, memory, and the directory a relative path starts from.
  Fd root, mem;
  // Raw arguments: paths as given (`name[1]` for rename's and the new name).
  std::string name[2];
  int dirfd[2] = {AT_FDCWD, AT_FDCWD};
  std::string dir_path[2];  // dirfd's path inside the sandbox, for relative names
  std::string link_target;  // symlink's content
  uint64_t flags = 0;       // renameat2 / unlinkat flags
  mode_t mode = 0;
  dev_t dev = 0;
  off_t length = 0;
  Creds creds;

  // Metadata changes: where the path argument is (-1: the file is the caller's descriptor
  // `by_fd`), whether a final symlink is left unfollowed, and what is set.
  int path_arg = 0;
  int by_fd = -1;
  bool nofollow = false;
  bool empty_path_ok = false;
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t xattr_name_addr = 0, xattr_value_addr = 0, xattr_args_addr = 0, times_addr = 0;
  size_t xattr_size = 0, xattr_args_size = 0;
  int xattr_flags = 0;
  enum class Times { Timespec, Timeval, Utimbuf } times_kind = Times::Timespec;
  std::string xattr_name, xattr_value;
  bool times_now = true;
  struct timespec times[2] = {};
  Fd file;  // a copy of the caller's descriptor, for the descriptor forms

  // Resolved: the parent directories (or, for truncate, the file) and the paths judged.
  Fd parent[2];
  std::string base[2];
  std::string path[2];
  std::string denied;  // the path (or protected path below) whose verdict refused it

  int names() const { return op == Op::Rename ? 2 : 1; }
  const char* OpName() const {
    switch (op) {
      case Op::Rename: return "rename";
      case Op::Unlink: return "unlink";
      case Op::Rmdir: return "rmdir";
      case Op::Truncate: return "truncate";
      case Op::Mkdir: return "mkdir";
      case Op::Mknod: return "mknod";
      case Op::Symlink: return "symlink";
      case Op::Chmod: return "chmod";
      case Op::Chown: return "chown";
      case Op::SetXattr: return "setxattr";
      case Op::RemoveXattr: return "removexattr";
      case Op::Utimes: return "utimes";
    }
    return "?";
  }
  bool metadata() const { return op >= Op::Chmod; }
};

namespace {

using Change = ChangeGuard::Change;
using Op = Change::Op;

// The `at` forms' flags: an empty path with AT_EMPTY_PATH names the descriptor itself.
void AtFlags(Change* c, uint64_t flags) {
  c->nofollow = (flags & AT_SYMLINK_NOFOLLOW) != 0;
  c->empty_path_ok = (flags & AT_EMPTY_PATH) != 0;
}

// Metadata changes (chmod, chown, extended attributes, timestamps): a change of one file,
// judged as WriteFile on it. False for a call this supervisor does not handle.
bool DecodeMetadata(const struct seccomp_notif& req, Change* c) {
  const auto* a = req.data.args;
  auto dirfd = [](uint64_t v) { return static_cast<int>(static_cast<int32_t>(v)); };
  auto by_path = [&](Op op, int path_arg) {
    c->op = op;
    c->path_arg = path_arg;
  };
  auto by_fd = [&](Op op, uint64_t fd) {
    c->op = op;
    c->path_arg = -1;
    c->by_fd = dirfd(fd);
  };
  switch (req.data.nr) {
#ifdef SYS_chmod
    case SYS_chmod:
      by_path(Op::Chmod, 0);
      c->mode = static_cast<mode_t>(a[1]);
      return true;
#endif
    case SYS_fchmod:
      by_fd(Op::Chmod, a[0]);
      c->mode = static_cast<mode_t>(a[1]);
      return true;
    case SYS_fchmodat:
    case SYS_fchmodat2:
      by_path(Op::Chmod, 1);
      c->dirfd[0] = dirfd(a[0]);
      c->mode = static_cast<mode_t>(a[2]);
      if (req.data.nr == SYS_fchmodat2) AtFlags(c, a[3]);
      return true;
#ifdef SYS_chown
    case SYS_chown:
    case SYS_lchown:
      by_path(Op::Chown, 0);
      c->nofollow = req.data.nr == SYS_lchown;
      c->uid = static_cast<uid_t>(a[1]);
      c->gid = static_cast<gid_t>(a[2]);
      return true;
#endif
    case SYS_fchown:
      by_fd(Op::Chown, a[0]);
      c->uid = static_cast<uid_t>(a[1]);
      c->gid = static_cast<gid_t>(a[2]);
      return true;
    case SYS_fchownat:
      by_path(Op::Chown, 1);
      c->dirfd[0] = dirfd(a[0]);
      c->uid = static_cast<uid_t>(a[2]);
      c->gid = static_cast<gid_t>(a[3]);
      AtFlags(c, a[4]);
      return true;
    case SYS_setxattr:
    case SYS_lsetxattr:
    case SYS_fsetxattr:
      if (req.data.nr == SYS_fsetxattr) by_fd(Op::SetXattr, a[0]);
      else by_path(Op::SetXattr, 0);
      c->nofollow = req.data.nr == SYS_lsetxattr;
      c->xattr_name_addr = a[1];
      c->xattr_value_addr = a[2];
      c->xattr_size = static_cast<size_t>(a[3]);
      c->xattr_flags = static_cast<int>(a[4]);
      return true;
    case SYS_setxattrat:
      // The value, its size and the flags come in a struct (xattr_args) the caller points at.
      by_path(Op::SetXattr, 1);
      c->dirfd[0] = dirfd(a[0]);
      AtFlags(c, a[2]);
      c->xattr_name_addr = a[3];
      c->xattr_args_addr = a[4];
      c->xattr_args_size = static_cast<size_t>(a[5]);
      return true;
    case SYS_removexattr:
    case SYS_lremovexattr:
    case SYS_fremovexattr:
      if (req.data.nr == SYS_fremovexattr) by_fd(Op::RemoveXattr, a[0]);
      else by_path(Op::RemoveXattr, 0);
      c->nofollow = req.data.nr == SYS_lremovexattr;
      c->xattr_name_addr = a[1];
      return true;
    case SYS_removexattrat:
      by_path(Op::RemoveXattr, 1);
      c->dirfd[0] = dirfd(a[0]);
      AtFlags(c, a[2]);
      c->xattr_name_addr = a[3];
      return true;
#ifdef SYS_utime
    case SYS_utime:
      by_path(Op::Utimes, 0);
      c->times_addr = a[1];
      c->times_kind = Change::Times::Utimbuf;
      return true;
#endif
#ifdef SYS_utimes
    case SYS_utimes:
      by_path(Op::Utimes, 0);
      c->times_addr = a[1];
      c->times_kind = Change::Times::Timeval;
      return true;
#endif
#ifdef SYS_futimesat
    case SYS_futimesat:
      by_path(Op::Utimes, 1);
      c->dirfd[0] = dirfd(a[0]);
      c->times_addr = a[2];
      c->times_kind = Change::Times::Timeval;
      return true;
#endif
    case SYS_utimensat:
      // A null path is futimens: the descriptor itself.
      if (a[1] == 0) by_fd(Op::Utimes, a[0]);
      else by_path(Op::Utimes, 1);
      c->dirfd[0] = dirfd(a[0]);
      c->times_addr = a[2];
      AtFlags(c, a[3]);
      return true;
    default:
      return false;
  }
}

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

// Reads `size` bytes of the workload's memory.
int ReadBytes(int mem_fd, uint64_t addr, size_t size, std::string* out) {
  out->assign(size, '\0');
  if (size == 0) return 0;
  if (addr == 0) return EFAULT;
  ssize_t n = pread(mem_fd, out->data(), size, static_cast<off_t>(addr));
  return n == static_cast<ssize_t>(size) ? 0 : EFAULT;
}

// The relative start of a name: its directory descriptor's path inside the sandbox.
int DirPathOf(const std::string& proc, Change* c, int i) {
  if (c->name[i][0] == '/') return 0;
  c->dir_path[i] = ReadLink(c->dirfd[i] == AT_FDCWD ? proc + "/cwd"
                                                    : proc + "/fd/" + std::to_string(c->dirfd[i]));
  if (c->dir_path[i].empty()) return EBADF;
  return c->dir_path[i][0] == '/' ? 0 : ENOTDIR;
}

// A copy of the workload's descriptor `fd`: the very open file its call names.
int CopyDescriptor(pid_t pid, int fd, Fd* out) {
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.ok()) return ESRCH;
  *out = Fd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  return out->ok() ? 0 : EBADF;
}

// What a metadata change names (the file, by path or descriptor) and sets.
int GatherMetadata(const struct seccomp_notif& req, const std::string& proc, Change* c) {
  if (c->path_arg >= 0) {
    int err = ReadString(c->mem.get(), req.data.args[c->path_arg], &c->name[0]);
    if (err != 0) return err;
    if (c->name[0].empty() && !c->empty_path_ok) return ENOENT;
    if (c->name[0].empty() && c->dirfd[0] != AT_FDCWD) {
      c->path_arg = -1;
      c->by_fd = c->dirfd[0];
    } else if (c->name[0].empty()) {
      c->name[0] = ".";
    }
  }
  if (c->path_arg >= 0) {
    if (!ThroughOwnFd(proc, &c->name[0])) return ENOTDIR;
    int err = DirPathOf(proc, c, 0);
    if (err != 0) return err;
  } else {
    int err = CopyDescriptor(static_cast<pid_t>(req.pid), c->by_fd, &c->file);
    if (err != 0) return err;
  }

  if (c->op == Op::SetXattr || c->op == Op::RemoveXattr) {
    int err = ReadString(c->mem.get(), c->xattr_name_addr, &c->xattr_name);
    if (err != 0) return err == ENAMETOOLONG ? ERANGE : err;
  }
  if (c->op == Op::SetXattr && c->xattr_args_addr != 0) {
    // setxattrat: struct xattr_args { __u64 value; __u32 size; __u32 flags; }.
    std::string args;
    if (c->xattr_args_size < 16) return EINVAL;
    int err = ReadBytes(c->mem.get(), c->xattr_args_addr, 16, &args);
    if (err != 0) return err;
    memcpy(&c->xattr_value_addr, args.data(), 8);
    uint32_t size, flags;
    memcpy(&size, args.data() + 8, 4);
    memcpy(&flags, args.data() + 12, 4);
    c->xattr_size = size;
    c->xattr_flags = static_cast<int>(flags);
  }
  if (c->op == Op::SetXattr) {
    if (c->xattr_size > kXattrValueMax) return E2BIG;
    int err = ReadBytes(c->mem.get(), c->xattr_value_addr, c->xattr_size, &c->xattr_value);
    if (err != 0) return err;
  }
  if (c->op == Op::Utimes && c->times_addr != 0) {
    c->times_now = false;
    std::string raw;
    size_t size = c->times_kind == Change::Times::Utimbuf ? 2 * sizeof(time_t)
                  : c->times_kind == Change::Times::Timeval ? 2 * sizeof(struct timeval)
                                                            : 2 * sizeof(struct timespec);
    int err = ReadBytes(c->mem.get(), c->times_addr, size, &raw);
    if (err != 0) return err;
    if (c->times_kind == Change::Times::Timespec) {
      memcpy(c->times, raw.data(), sizeof c->times);
    } else if (c->times_kind == Change::Times::Timeval) {
      struct timeval tv[2];
      memcpy(tv, raw.data(), sizeof tv);
      for (int i = 0; i < 2; i++) {
        if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return EINVAL;
        c->times[i] = {tv[i].tv_sec, tv[i].tv_usec * 1000};
      }
    } else {
      time_t t[2];
      memcpy(t, raw.data(), sizeof t);
      for (int i = 0; i < 2; i++) c->times[i] = {t[i], 0};
    }
  }
  return 0;
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

// Performs a metadata change on exactly the file that was judged: the caller's own open file,
// or the O_PATH descriptor resolved from its path; 0 or an errno.
int PerformMetadata(const Change& c) {
  bool own = c.path_arg < 0;
  int fd = own ? c.file.get() : c.parent[0].get();
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  struct stat st;
  bool link = !own && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
  const struct timespec* times = c.times_now ? nullptr : c.times;
  long r = 0;
  switch (c.op) {
    case Op::Chmod:
      // Linux has no modes on symlinks; through the magic link, the judged inode.
      if (link) return EOPNOTSUPP;
      r = own ? fchmod(fd, c.mode) : chmod(self.c_str(), c.mode);
      break;
    case Op::Chown:
      r = own ? fchown(fd, c.uid, c.gid) : fchownat(fd, "", c.uid, c.gid, AT_EMPTY_PATH);
      break;
    case Op::SetXattr:
      // Symlinks take no user attributes, and the others need capabilities no sandbox has.
      if (link) return EPERM;
      r = own ? fsetxattr(fd, c.xattr_name.c_str(), c.xattr_value.data(), c.xattr_value.size(),
                          c.xattr_flags)
              : setxattr(self.c_str(), c.xattr_name.c_str(), c.xattr_value.data(),
                         c.xattr_value.size(), c.xattr_flags);
      break;
    case Op::RemoveXattr:
      if (link) return EPERM;
      r = own ? fremovexattr(fd, c.xattr_name.c_str())
              : removexattr(self.c_str(), c.xattr_name.c_str());
      break;
    case Op::Utimes:
      r = own ? futimens(fd, times)
              : utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      break;
    default:
      return ENOSYS;
  }
  return r == 0 ? 0 : errno;
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
