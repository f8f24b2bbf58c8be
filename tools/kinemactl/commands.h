// kinemactl commands. Each takes parsed flags and returns the exit code of
// operations.md: 0 ok, 1 operation refused (or verify failed), 2 usage error
// (bad flags, unusable --db), 4 unknown workflow id.
#pragma once

#include <string>
#include <vector>

namespace kinema::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnknownId = 4;

// Entry point: args exclude argv[0]. Output to stdout, errors (one line) to stderr.
int RunKinemactl(const std::vector<std::string>& args);

}  // namespace kinema::ctl
