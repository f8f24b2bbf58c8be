// Test support: temporary directories and real child processes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kinema::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction
// unless KINEMA_KEEP_TEST_DIRS is set (not "0"): then its path is printed
// to stderr and it stays, for a post-mortem.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// build/bin/<name>, from $KINEMA_BIN_DIR (set by CTest).
std::string BinPath(const std::string& name);

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv to completion, capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});

// Starts argv in the background (stdout/stderr to files in `log_prefix`.out/.err).
pid_t StartProcess(const std::vector<std::string>& argv, const std::string& log_prefix);
// Waits for pid; returns exit code, or -signal if it died of a signal.
int WaitProcess(pid_t pid);
// True once `path` exists (polls up to timeout_ms).
bool WaitForFile(const std::string& path, int timeout_ms);
std::string ReadFile(const std::string& path);

}  // namespace kinema::testing
