// What a guard with a BPF ring buffer reports as lost: events the kernel could not put in the
// ring (the one entry of its `lost_events` map) and events dropped on the way to JavaScript.
#pragma once

#include <bpf/bpf.h>
#include <linux/types.h>
#include <napi.h>

#include <cstdint>

namespace leash {

// `lost_map_fd` is -1 when the guard's programs are not loaded (nothing was lost there).
inline Napi::Object LossStats(Napi::Env env, int lost_map_fd, uint64_t dropped) {
  __u64 lost = 0;
  __u32 zero = 0;
  if (lost_map_fd >= 0) bpf_map_lookup_elem(lost_map_fd, &zero, &lost);
  Napi::Object s = Napi::Object::New(env);
  s.Set("lost", static_cast<double>(lost));
  s.Set("dropped", static_cast<double>(dropped));
  return s;
}

}  // namespace leash
