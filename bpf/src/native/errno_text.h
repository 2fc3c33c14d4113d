// How the addon names a failed system call's error in the messages it throws.
#pragma once

#include <cstring>
#include <string>

namespace leash {

// "Operation not permitted (errno 1)".
inline std::string ErrnoText(int err) {
  return std::string(strerror(err)) + " (errno " + std::to_string(err) + ")";
}

}  // namespace leash
