// One call the change supervisor intercepted, and the helpers its two halves share: the calls
// that change names (change_guard.cc) and the metadata changes (change_metadata.cc).
#pragma once

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace leash {
namespace change {

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

// Credentials of the workload's thread, applied to the supervisor's thread for each change.
struct Creds {
  uid_t fsuid = 0;
  gid_t fsgid = 0;
  std::vector<gid_t> groups;
  uint64_t cap_effective = 0;
  mode_t umask = 022;
};

// One intercepted call: what it names, resolved to descriptors the supervisor holds.
struct Change {
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

// The target of a symlink (a /proc magic link included); "" when unreadable.
std::string ReadLink(const std::string& link);
// The path of one of this process's descriptors.
std::string FdPath(int fd);
// Reads a NUL-terminated string from the workload's memory; 0 or an errno.
int ReadString(int mem_fd, uint64_t addr, std::string* out);
// Rewrites a name through the caller's own descriptor; false when that descriptor has no path.
bool ThroughOwnFd(const std::string& proc, std::string* name);
// Sets the path a relative name `i` starts from; 0 or an errno.
int DirPathOf(const std::string& proc, Change* c, int i);

// Metadata changes (change_metadata.cc): which calls they are, what they name and set, and
// making them on the judged file.
bool DecodeMetadata(const struct seccomp_notif& req, Change* c);
int GatherMetadata(const struct seccomp_notif& req, const std::string& proc, Change* c);
int PerformMetadata(const Change& c);

}  // namespace change
}  // namespace leash
