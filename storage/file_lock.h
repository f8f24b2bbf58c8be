// FileLock: an exclusive advisory lock (flock) on "<journal>.lock" that
// proves a process is the journal's only writer.
//
// Contract:
//   - The controller takes the lock for its whole lifetime before opening the
//     journal for writing; kinemactl's offline abort/resume take it too, so
//     they can only write when no controller runs.
//   - The kernel releases the lock when the process dies (kill -9 included),
//     so a crash never leaves a stale lock behind.
//   - TryAcquire never blocks; it reports FailedPrecondition naming the
//     holder's pid (written into the file) when another process holds it.
// Thread-safety: not thread-safe; one owner.
#pragma once

#include <memory>
#include <string>

#include "engine/common/status.h"

namespace kinema {

class FileLock {
 public:
  static StatusOr<std::unique_ptr<FileLock>> TryAcquire(const std::string& lock_path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // The pid recorded in a lock file by its last holder, or -1.
  static int ReadHolderPid(const std::string& lock_path);

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

inline std::string LockPathFor(const std::string& journal_path) { return journal_path + ".lock"; }

}  // namespace kinema
