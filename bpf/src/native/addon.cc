// The leash_bpf addon: kernel probes, the fanotify FileGuard, the seccomp ChangeGuard, the
// cgroup ConnectGuard, the sched_process_exec ExecGuard and the BPF LSM LsmGuard.
#include <napi.h>

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <string>

#include "change_guard.h"
#include "errno_text.h"
#include "connect_guard.h"
#include "exec_guard.h"
#include "file_guard.h"
#include "lsm_guard.h"

namespace leash {

namespace {


Napi::Object Capability(Napi::Env env, bool available, const std::string& reason) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("available", available);
  c.Set("reason", reason);
  return c;
}

// Loads a two-instruction lsm/file_open program (return 0) and closes it again.
Napi::Value ProbeLsm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) {
    return Capability(env, false, "the kernel exposes no BTF (/sys/kernel/btf/vmlinux): " +
                                      ErrnoText(errno));
  }
  int hook = btf__find_by_name_kind(vmlinux, "bpf_lsm_file_open", BTF_KIND_FUNC);
  btf__free(vmlinux);
  if (hook < 0) {
    return Capability(env, false, "the kernel was built without BPF LSM (no bpf_lsm_file_open)");
  }

  const bpf_insn program[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC,
              .attach_btf_id = static_cast<__u32>(hook));
  int fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "leash_probe", "GPL", program, 2, &opts);
  if (fd < 0) {
    int err = errno;
    std::string why;
    if (err == EPERM && geteuid() != 0) {
      why = "loading an lsm/file_open program needs root (EPERM as uid " +
            std::to_string(geteuid()) + "); probe again as root";
    } else if (err == EPERM) {
      why = "the kernel refused to load an lsm/file_open program (EPERM): BPF LSM is not "
            "usable here (not in the boot lsm= list, or blocked by the kernel or hypervisor)";
    } else {
      why = "loading an lsm/file_open program failed: " + ErrnoText(err);
    }
    return Capability(env, false, why);
  }
  close(fd);

  // A program can load and attach yet block nothing (`bpf` not an active LSM): only a denial
  // seen to take effect counts.
  std::string failure = ProbeLsmDenial();
  if (!failure.empty()) return Capability(env, false, failure);
  return Capability(env, true, "an lsm/file_open program loads and its denial takes effect");
}

Napi::Value ProbeFanotify(const Napi::CallbackInfo& info) {
  int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_REPORT_TID | FAN_CLOEXEC, O_RDONLY);
  if (fd < 0) {
    return Capability(info.Env(), false,
                      "fanotify_init(FAN_CLASS_CONTENT) failed: " + ErrnoText(errno));
  }
  close(fd);
  return Capability(info.Env(), true, "fanotify permission events are available");
}

Napi::Value ProbeCgroupBpf(const Napi::CallbackInfo& info) {
  std::string failure = ProbeConnectObject();
  if (failure.empty()) failure = ProbeExecObject();
  if (!failure.empty()) return Capability(info.Env(), false, failure);
  return Capability(info.Env(), true, "the cgroup socket programs and the exec program load");
}

// For tests: errno of socket(family, type, protocol), 0 when it succeeded.
Napi::Value TrySocket(const Napi::CallbackInfo& info) {
  int family = info[0].As<Napi::Number>().Int32Value();
  int type = info[1].As<Napi::Number>().Int32Value();
  int protocol = info[2].As<Napi::Number>().Int32Value();
  int fd = socket(family, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return Napi::Number::New(info.Env(), errno);
  close(fd);
  return Napi::Number::New(info.Env(), 0);
}

// A copy of a seccomp listener held by a process leash-launch started in a sandbox.
Napi::Value TakeListener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "takeSeccompListener(pid: number, fd: number)");
  }
  int pid = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  return Napi::Number::New(env, TakeSeccompListener(env, pid, fd));
}

// libbpf reports through errno and our errors; its own printing would go to stderr.
int QuietLibbpf(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(QuietLibbpf);
  exports.Set("probeLsm", Napi::Function::New(env, ProbeLsm));
  exports.Set("probeFanotify", Napi::Function::New(env, ProbeFanotify));
  exports.Set("probeCgroupBpf", Napi::Function::New(env, ProbeCgroupBpf));
  exports.Set("trySocket", Napi::Function::New(env, TrySocket));
  exports.Set("FileGuard", FileGuard::Define(env));
  exports.Set("ConnectGuard", ConnectGuard::Define(env));
  exports.Set("ExecGuard", ExecGuard::Define(env));
  exports.Set("ChangeGuard", ChangeGuard::Define(env));
  exports.Set("LsmGuard", LsmGuard::Define(env));
  exports.Set("takeSeccompListener", Napi::Function::New(env, TakeListener));
  return exports;
}

}  // namespace leash

static Napi::Object InitLeashBpf(Napi::Env env, Napi::Object exports) {
  return leash::Init(env, exports);
}

NODE_API_MODULE(leash_bpf, InitLeashBpf)
