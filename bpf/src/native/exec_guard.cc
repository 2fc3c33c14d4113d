#include "exec_guard.h"
#include "errno_text.h"

#include "loss_stats.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern "C" {
#include "../exec.skel.h"
}

namespace leash {

namespace {

constexpr size_t kEventQueueSize = 4096;
constexpr uint8_t kDecisionAllow = 1;
constexpr int kQuietPollMs = 50;
// Events held for JavaScript at most; more are counted as dropped.
constexpr size_t kMaxPendingEvents = 65536;


bool QuietAllowed(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsBoolean() && info[index].As<Napi::Boolean>();
}

}  // namespace

std::string ProbeExecObject() {
  exec_bpf* skel = exec_bpf__open_and_load();
  if (skel == nullptr) {
    return "loading the sched_process_exec program failed: " + ErrnoText(errno) +
           " (it needs BTF and tp_btf programs)";
  }
  exec_bpf__destroy(skel);
  return "";
}

Napi::Function ExecGuard::Define(Napi::Env env) {
  return DefineClass(env, "ExecGuard",
                     {InstanceMethod("update", &ExecGuard::Update),
                      InstanceMethod("pin", &ExecGuard::Pin),
                      InstanceMethod("close", &ExecGuard::Close),
                      InstanceMethod("stats", &ExecGuard::Stats)});
}

ExecGuard::ExecGuard(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExecGuard>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env,
                               "ExecGuard(cgroupPath: string, rules, onEvent, quiet?, trusted?)");
  }
  std::set<std::string> trusted;
  if (info.Length() > 4 && info[4].IsArray()) {
    Napi::Array list = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      if (!v.IsString()) throw Napi::TypeError::New(env, "ExecGuard: trusted must be paths");
      trusted.insert(v.As<Napi::String>().Utf8Value());
    }
  }
  std::string cgroup_path = info[0].As<Napi::String>().Utf8Value();
  ParseExecRules(env, info[1], 0);  // refuse bad rules before loading anything

  struct statfs fs;
  struct stat st;
  if (statfs(cgroup_path.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC ||
      stat(cgroup_path.c_str(), &st) != 0) {
    throw Napi::Error::New(env, "ExecGuard: " + cgroup_path +
                                    " is not a cgroup v2 directory; pass a session's cgroup");
  }

  uint64_t key = 0;
  if (getrandom(&key, sizeof key, 0) != sizeof key) {
    throw Napi::Error::New(env, "ExecGuard: getrandom failed: " + ErrnoText(errno));
  }
  skel_ = exec_bpf__open();
  if (skel_ == nullptr) {
    throw Napi::Error::New(env, "ExecGuard: opening the exec program failed: " + ErrnoText(errno));
  }
  skel_->rodata->hash_key = key;
  try {
    if (exec_bpf__load(skel_) != 0) {
      throw Napi::Error::New(env, "ExecGuard: loading the sched_process_exec program failed: " +
                                      ErrnoText(errno) + "; it needs BTF and tp_btf programs");
    }
    judge_ = std::make_shared<ExecJudge>(
        key, bpf_map__fd(skel_->maps.sets), bpf_map__fd(skel_->maps.rules),
        bpf_map__fd(skel_->maps.active), bpf_map__fd(skel_->maps.programs),
        bpf_map__fd(skel_->maps.scripts), bpf_map__fd(skel_->maps.loaders), std::move(trusted));
    judge_->Install(env, info[1], QuietAllowed(info, 3));

    // Only tasks of this cgroup are judged; its id is its directory's inode.
    __u64 cgroup_id = st.st_ino;
    __u32 member = 1;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.cgroups), &cgroup_id, &member, BPF_ANY) != 0) {
      throw Napi::Error::New(env, "ExecGuard: naming the cgroup failed: " + ErrnoText(errno));
    }
    link_ = bpf_program__attach(skel_->progs.leash_exec);
    if (link_ == nullptr) {
      throw Napi::Error::New(env, "ExecGuard: attaching to sched_process_exec failed: " +
                                      ErrnoText(errno));
    }
    ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &ExecGuard::OnRingEvent, this,
                             nullptr);
    if (ring_ == nullptr) {
      throw Napi::Error::New(env, "ExecGuard: opening the event ring buffer failed: " +
                                      ErrnoText(errno));
    }
  } catch (...) {
    if (link_ != nullptr) bpf_link__destroy(link_);
    link_ = nullptr;
    exec_bpf__destroy(skel_);
    skel_ = nullptr;
    throw;
  }

  on_event_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(),
                                            "leash-exec-events", kEventQueueSize, 1);
  callback_ = Napi::Persistent(info[2].As<Napi::Function>());
  closed_ = false;
  running_ = true;
  poller_ = std::thread(&ExecGuard::PollLoop, this);
}

ExecGuard::~ExecGuard() { Stop(); }


Napi::Object ExecEventObject(Napi::Env env, const ExecEventData& d) {
  const leash_exec_event& ev = d.event;
  size_t shown = std::min<size_t>(ev.argv_len, sizeof ev.argv);
  Napi::Array argv = Napi::Array::New(env);
  size_t start = 0;
  for (size_t i = 0; i <= shown; i++) {
    if (i == shown || ev.argv[i] == '\0') {
      if (i > start || i < shown) argv.Set(argv.Length(), std::string(ev.argv + start, i - start));
      start = i + 1;
    }
  }
  Napi::Object e = Napi::Object::New(env);
  e.Set("pid", ev.pid);
  e.Set("tid", ev.old_tid);
  e.Set("decision", ev.decision == kDecisionAllow ? "allow" : "deny");
  e.Set("argv", argv);
  e.Set("truncated", ev.argv_len > sizeof ev.argv);
  e.Set("unknownProgram", (ev.flags & LEASH_EXEC_UNKNOWN) != 0);
  e.Set("overflow", (ev.flags & LEASH_EXEC_OVERFLOW) != 0);
  e.Set("loader", (ev.flags & LEASH_EXEC_LOADER) != 0);
  e.Set("comm", std::string(ev.comm, strnlen(ev.comm, sizeof ev.comm)));
  if (!d.program.empty()) e.Set("program", d.program);
  if (!d.script.empty()) e.Set("script", d.script);
  return e;
}

// On the poller's thread (or in Stop): events wait in pending_ for the JavaScript thread.
int ExecGuard::OnRingEvent(void* self, void* data, size_t size) {
  auto* guard = static_cast<ExecGuard*>(self);
  if (size < sizeof(leash_exec_event)) return 0;
  auto copy = std::make_unique<ExecEventData>();
  memcpy(&copy->event, data, sizeof copy->event);
  const leash_exec_event& ev = copy->event;
  // Only an exec whose program record was found has a judged path; others leave the queue.
  if (!(ev.flags & (LEASH_EXEC_UNKNOWN | LEASH_EXEC_LOADER))) {
    copy->program =
        guard->judge_->TakePath(static_cast<int>(ev.old_tid), ev.ino, ev.dev, &copy->script);
  }
  if (!(ev.flags & LEASH_EXEC_SCRIPT)) copy->script.clear();

  std::lock_guard<std::mutex> lock(guard->pending_->mutex);
  if (guard->pending_->events.size() >= kMaxPendingEvents) {
    guard->dropped_++;
  } else {
    guard->pending_->events.push_back(std::move(copy));
  }
  return 0;
}

std::vector<std::unique_ptr<ExecEventData>> ExecEventQueue::Take() {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<std::unique_ptr<ExecEventData>> taken;
  taken.swap(events);
  return taken;
}

// Each round asks the JavaScript thread to take what arrived (one call per round, not per
// event); allowed execs may have been submitted without a wakeup (exec.bpf.c), so each round
// also consumes what arrived quietly: their events come at most kQuietPollMs late.
void ExecGuard::PollLoop() {
  while (running_) {
    int n = ring_buffer__poll(ring_, kQuietPollMs);
    if (n < 0 && n != -EINTR) return;
    if (ring_buffer__consume(ring_) < 0) return;
    bool any;
    {
      std::lock_guard<std::mutex> lock(pending_->mutex);
      any = !pending_->events.empty();
    }
    if (!any) continue;
    using Queue = std::shared_ptr<ExecEventQueue>;
    auto* queue = new Queue(pending_);
    napi_status status = on_event_.NonBlockingCall(
        queue, [](Napi::Env env, Napi::Function fn, Queue* q) {
          if (env != nullptr && fn != nullptr) {
            for (const auto& d : (*q)->Take()) fn.Call({ExecEventObject(env, *d)});
          }
          delete q;
        });
    // A full queue already holds a call that will take these too.
    if (status != napi_ok) delete queue;
  }
}

Napi::Value ExecGuard::Update(const Napi::CallbackInfo& info) {
  if (closed_) throw Napi::Error::New(info.Env(), "ExecGuard.update: the guard is closed");
  judge_->Install(info.Env(), info[0], QuietAllowed(info, 1));
  return info.Env().Undefined();
}

void ExecGuard::Stop() {
  if (closed_) return;
  closed_ = true;
  running_ = false;
  if (poller_.joinable()) poller_.join();
  ring_buffer__consume(ring_);  // the last round's, for Close() to deliver
  ring_buffer__free(ring_);
  // Unpinned first: destroying a pinned link would leave the program attached.
  if (!pinned_.empty()) {
    int err = bpf_link__unpin(link_);
    if (err != 0) unpin_error_ = "could not unpin " + pinned_ + ": " + ErrnoText(-err);
  }
  bpf_link__destroy(link_);
  link_ = nullptr;
  exec_bpf__destroy(skel_);
  skel_ = nullptr;
  on_event_.Release();
}

// pin(path): pins the program's link in bpffs, so that the program, its rules and its records
// outlive this process: execs stay judged by argv (and programs no record names stay
// unknown) until the link's pin is removed. close() removes it.
Napi::Value ExecGuard::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "ExecGuard.pin: the guard is closed");
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "ExecGuard.pin(path: string)");
  }
  if (!pinned_.empty()) throw Napi::Error::New(env, "ExecGuard.pin: already pinned at " + pinned_);
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int err = bpf_link__pin(link_, path.c_str());
  if (err != 0) {
    throw Napi::Error::New(env, "ExecGuard.pin: pinning the exec program at " + path +
                                    " failed: " + ErrnoText(-err) +
                                    "; is bpffs mounted at /sys/fs/bpf?");
  }
  pinned_ = path;
  return env.Undefined();
}

// Delivers every event not yet delivered before returning, so that whoever stores them can
// do so before it reports the session's end.
Napi::Value ExecGuard::Close(const Napi::CallbackInfo& info) {
  Stop();
  for (const auto& d : pending_->Take()) callback_.Call({ExecEventObject(info.Env(), *d)});
  if (!unpin_error_.empty()) {
    throw Napi::Error::New(info.Env(), "ExecGuard.close: " + unpin_error_ +
                                           "; remove the pin by hand to detach the program");
  }
  return info.Env().Undefined();
}

Napi::Value ExecGuard::Stats(const Napi::CallbackInfo& info) {
  int lost_fd = skel_ != nullptr ? bpf_map__fd(skel_->maps.lost_events) : -1;
  return LossStats(info.Env(), lost_fd, dropped_.load());
}

}  // namespace leash
