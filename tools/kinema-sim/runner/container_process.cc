#include "tools/kinema-sim/runner/container_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kinema::sim::runner {

ContainerProcess::~ContainerProcess() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

Status ContainerProcess::Start(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                               const std::string& cwd, const std::string& log_path) {
  if (argv.empty()) return Status::InvalidArgument("empty command");
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log < 0) return Status::IOError("open " + log_path + ": " + std::strerror(errno));
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is built before fork (only async-signal-safe calls after it).
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(log);
    if (devnull >= 0) ::close(devnull);
    return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the simulator blocks SIGTERM/SIGINT
    ::signal(SIGPIPE, SIG_DFL);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    // No descriptor of the simulator (listening sockets, store files)
    // survives the exec.
    for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (::chdir(cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(err_pipe[1], &e, sizeof(e));
      ::_exit(127);
    }
    ::execve(cargv[0], cargv.data(), cenv.data());
    int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof(e));
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  ::close(log);
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) {
    ::close(err_pipe[0]);
    return Status::IOError(std::string("fork: ") + std::strerror(errno));
  }
  int child_errno = 0;
  ssize_t n = ::read(err_pipe[0], &child_errno, sizeof(child_errno));  // EOF once exec succeeded
  ::close(err_pipe[0]);
  if (n == sizeof(child_errno)) {
    ::waitpid(pid, nullptr, 0);
    return Status::FailedPrecondition("exec " + argv[0] + " (cwd " + cwd + "): " + std::strerror(child_errno));
  }
  pid_ = pid;
  return Status::OK();
}

void ContainerProcess::Signal(int sig) const {
  if (pid_ > 0) ::kill(-pid_, sig);
}

std::optional<ExitInfo> ContainerProcess::Poll() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return std::nullopt;
  // The group may hold children of the container's process: they go with it.
  ::kill(-pid_, SIGKILL);
  pid_ = -1;
  ExitInfo e;
  if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
    e.exit_code = 128 + e.signal;
  } else {
    e.exit_code = WEXITSTATUS(status);
  }
  return e;
}

}  // namespace kinema::sim::runner
