#include "storage/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kinema {

StatusOr<std::unique_ptr<FileLock>> FileLock::TryAcquire(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("open lock file " + lock_path + ": " + std::strerror(errno));
  }
  (void)::fchmod(fd, 0600);  // also a lock file left 0644 by an older binary
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      int pid = ReadHolderPid(lock_path);
      return Status::FailedPrecondition("journal is held by another writer (pid " +
                                        (pid > 0 ? std::to_string(pid) : std::string("unknown")) + ", lock " +
                                        lock_path + ")");
    }
    return Status::IOError("lock " + lock_path + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
    (void)n;  // the pid is informational only
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

int FileLock::ReadHolderPid(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[32] = {0};
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return -1;
  return std::atoi(buf);
}

}  // namespace kinema
