// The probe of the lsm backend: whether a BPF LSM denial takes effect here.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lsm_guard.h"
#include "errno_text.h"

extern "C" {
#include "../lsm_probe.skel.h"
}

namespace leash {

namespace {


}  // namespace

std::string ProbeLsmDenial() {
  char path[] = "/tmp/leash-lsm-probe-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "cannot create a file in /tmp to probe with: " + ErrnoText(errno);
  struct stat st;
  fstat(fd, &st);
  close(fd);

  std::string failure;
  lsm_probe_bpf* skel = lsm_probe_bpf__open();
  if (skel == nullptr) {
    failure = "opening the lsm probe program failed: " + ErrnoText(errno);
  } else {
    skel->rodata->target_tgid = static_cast<__u32>(getpid());
    skel->rodata->target_ino = st.st_ino;
    if (lsm_probe_bpf__load(skel) != 0) {
      int err = errno;
      failure = err == EPERM
                    ? "the kernel refused to load an lsm/file_open program (EPERM): BPF LSM is "
                      "not usable here (not in the boot lsm= list, or blocked by the kernel)"
                    : "loading an lsm/file_open program failed: " + ErrnoText(err);
    } else if (lsm_probe_bpf__attach(skel) != 0) {
      failure = "attaching an lsm/file_open program failed: " + ErrnoText(errno);
    } else {
      int probe = open(path, O_RDONLY | O_CLOEXEC);
      if (probe >= 0) {
        close(probe);
        failure = "an lsm/file_open program loads and attaches but its denial has no effect "
                  "(`bpf` is not among the active LSMs: boot with lsm=...,bpf)";
      } else if (errno != EPERM) {
        failure = "the probe's open failed with " + ErrnoText(errno) + " instead of EPERM";
      }
    }
    lsm_probe_bpf__destroy(skel);
  }
  unlink(path);
  return failure;
}

}  // namespace leash
