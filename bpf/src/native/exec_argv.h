// The argv a thread waiting in execve asked for, read from its memory for the audit log of a
// refused exec. The thread's siblings can change that memory meanwhile: never a basis for a
// decision (the kernel program judges the argv a new image really received).
#pragma once

#include <string>
#include <vector>

namespace leash {

// argv[0..] as requested, at most 64 entries and 4,096 bytes; empty when unreadable.
std::vector<std::string> RequestedArgv(int tid);

}  // namespace leash
