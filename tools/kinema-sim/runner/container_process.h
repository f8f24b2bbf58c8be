// ContainerProcess: one container of a run-image pod as a child process.
//   - Start(): fork + execve of argv with exactly `env` (nothing inherited
//     from the simulator), working directory `cwd`, a new session (its own
//     process group), stdin /dev/null, stdout and stderr appended to
//     `log_path` (the container log `kubectl logs` reads).
//   - Signal() signals the whole process group; Poll() reaps without
//     blocking and reports the exit (code, or 128+signal like a runtime).
// Thread-safety: one thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::runner {

struct ExitInfo {
  int exit_code = 0;  // 128 + signal when killed by one
  int signal = 0;
};

class ContainerProcess {
 public:
  ContainerProcess() = default;
  ~ContainerProcess();  // SIGKILLs and reaps a process still running
  ContainerProcess(const ContainerProcess&) = delete;
  ContainerProcess& operator=(const ContainerProcess&) = delete;

  Status Start(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
               const std::string& log_path);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // The exit, once (nullopt while running or when never started).
  std::optional<ExitInfo> Poll();

 private:
  pid_t pid_ = -1;
};

}  // namespace kinema::sim::runner
