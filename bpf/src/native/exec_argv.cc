#include "exec_argv.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <sstream>

namespace leash {

namespace {

constexpr size_t kMaxArgs = 64;
constexpr size_t kMaxBytes = 4096;
constexpr size_t kPage = 4096;

bool ReadRemote(int tid, uintptr_t at, void* into, size_t size) {
  struct iovec local = {into, size};
  struct iovec remote = {reinterpret_cast<void*>(at), size};
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

std::string SyscallText(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// The argv pointer of the execve or execveat the thread waits in, or 0. The thread queues
// its event before it sleeps, so its syscall file may still say "running" for a moment.
uintptr_t ArgvPointer(int tid) {
  std::string path = "/proc/" + std::to_string(tid) + "/syscall";
  std::string text = SyscallText(path);
  for (int tries = 0; tries < 2000 && text.rfind("running", 0) == 0; tries++) {
    if (tries > 50) usleep(10);
    else sched_yield();
    text = SyscallText(path);
  }
  std::istringstream fields(text);
  long nr = -1;
  std::string args[3];
  fields >> nr >> args[0] >> args[1] >> args[2];
  if (nr == SYS_execve) return std::strtoull(args[1].c_str(), nullptr, 16);
  if (nr == SYS_execveat) return std::strtoull(args[2].c_str(), nullptr, 16);
  return 0;
}

}  // namespace

std::vector<std::string> RequestedArgv(int tid) {
  std::vector<std::string> argv;
  uintptr_t at = ArgvPointer(tid);
  size_t bytes = 0;
  for (size_t i = 0; at != 0 && i < kMaxArgs && bytes < kMaxBytes; i++) {
    uintptr_t arg = 0;
    if (!ReadRemote(tid, at + i * sizeof arg, &arg, sizeof arg) || arg == 0) break;
    // In pieces that never cross a page, so an unmapped page after a string does not matter.
    std::string text;
    bool ended = false;
    while (!ended && bytes < kMaxBytes) {
      uintptr_t from = arg + text.size();
      size_t piece = std::min<size_t>(kPage - from % kPage, kMaxBytes - bytes);
      char chunk[kPage];
      if (!ReadRemote(tid, from, chunk, piece)) break;
      size_t len = strnlen(chunk, piece);
      text.append(chunk, len);
      bytes += len;
      ended = len < piece;
    }
    argv.push_back(std::move(text));
  }
  return argv;
}

}  // namespace leash
