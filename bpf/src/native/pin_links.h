// Pins of a guard's BPF links in bpffs: what keeps its programs attached after leashd dies.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <utility>
#include <vector>

#include "errno_text.h"

namespace leash {

// Pins each link at `dir`/<its name> (bpffs refuses dots in names). On a failure unpins those
// already pinned and gives why, naming the pin; an empty string when all were pinned.
inline std::string PinLinks(const std::vector<std::pair<bpf_link*, std::string>>& links,
                            const std::string& dir) {
  for (size_t i = 0; i < links.size(); i++) {
    std::string path = dir + "/" + links[i].second;
    int err = bpf_link__pin(links[i].first, path.c_str());
    if (err != 0) {
      for (size_t j = 0; j < i; j++) bpf_link__unpin(links[j].first);
      return "pinning at " + path + " failed: " + ErrnoText(-err) +
             "; is bpffs mounted at /sys/fs/bpf?";
    }
  }
  return "";
}

// Removes the links' pins, before the links are destroyed (destroying a pinned link would leave
// its program attached); gives the last failure, or an empty string.
inline std::string UnpinLinks(const std::vector<std::pair<bpf_link*, std::string>>& links) {
  std::string error;
  for (const auto& [link, name] : links) {
    int err = bpf_link__unpin(link);
    if (err != 0) error = "could not unpin " + name + ": " + ErrnoText(-err);
  }
  return error;
}

}  // namespace leash
