// Metadata changes for the change supervisor: chmod, chown, extended attributes and
// timestamps, named by path or by the caller's descriptor, each a change of one file that is
// judged as WriteFile on it and made on exactly the file judged.
#include "change_call.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <cstring>

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
namespace change {

namespace {

using Op = Change::Op;

constexpr size_t kXattrValueMax = 65536;  // the kernel's XATTR_SIZE_MAX

// The `at` forms' flags: an empty path with AT_EMPTY_PATH names the descriptor itself.
void AtFlags(Change* c, uint64_t flags) {
  c->nofollow = (flags & AT_SYMLINK_NOFOLLOW) != 0;
  c->empty_path_ok = (flags & AT_EMPTY_PATH) != 0;
}

// Reads `size` bytes of the workload's memory.
int ReadBytes(int mem_fd, uint64_t addr, size_t size, std::string* out) {
  out->assign(size, '\0');
  if (size == 0) return 0;
  if (addr == 0) return EFAULT;
  ssize_t n = pread(mem_fd, out->data(), size, static_cast<off_t>(addr));
  return n == static_cast<ssize_t>(size) ? 0 : EFAULT;
}

// The thread group (process) of thread `tid`, from /proc/<tid>/status; 0 when it is gone.
pid_t ThreadGroupOf(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Tgid:", 0) == 0) {
      return static_cast<pid_t>(std::strtol(line.c_str() + 5, nullptr, 10));
    }
  }
  return 0;
}

// A pidfd for the calling thread `tid`, which need not lead its process (a call from a worker
// thread). Kernels before 6.9 take no PIDFD_THREAD; there the process's pidfd is used, whose
// descriptor table the thread shares unless it unshared it (then the file judged and changed is
// the process's, still one the workload holds).
Fd PidfdOfThread(pid_t tid) {
  constexpr unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tid, kPidfdThread)));
  if (pidfd.ok() || errno != EINVAL) return pidfd;
  pid_t tgid = ThreadGroupOf(tid);
  return Fd(tgid > 0 ? static_cast<int>(syscall(SYS_pidfd_open, tgid, 0)) : -1);
}

// A copy of the workload's descriptor `fd`: the very open file its call names.
int CopyDescriptor(pid_t pid, int fd, Fd* out) {
  Fd pidfd = PidfdOfThread(pid);
  if (!pidfd.ok()) return ESRCH;
  *out = Fd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  return out->ok() ? 0 : EBADF;
}

}  // namespace

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

}  // namespace change
}  // namespace leash
