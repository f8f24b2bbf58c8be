#include "engine/kube/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "engine/common/safe_json.h"
#include "engine/common/text.h"
#include "engine/http/redact.h"
#include "engine/kube/base64.h"
#include "engine/common/time.h"

extern char** environ;

namespace kinema::kube {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

struct ProcessResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv with extra env, stdin from /dev/null, capturing stdout/stderr.
StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& extra_env, std::chrono::seconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::Internal("pipe failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Status::Internal("pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);

  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& x : extra_env) overridden = overridden || x.substr(0, x.find('=')) == name;
    if (!overridden) env_strings.push_back(kv);
  }
  for (const auto& x : extra_env) env_strings.push_back(x);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argvp;
  for (auto& s : args) argvp.push_back(s.data());
  argvp.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argvp[0], &fa, nullptr, argvp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return Status::Unavailable("cannot start \"" + argv[0] + "\": " + std::strerror(rc));
  }

  ProcessResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(r));
        if (result.out.size() > (1 << 20)) result.timed_out = true;  // runaway output
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
    if (result.timed_out) break;
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  // The plugin may close its output and keep running: its exit is waited
  // for within the same deadline, then it is killed.
  int wstatus = 0;
  bool reaped = false;
  while (!result.timed_out && !reaped) {
    pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) {
      reaped = true;
    } else if (w < 0 && errno != EINTR) {
      break;
    } else if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (!reaped) {
    kill(pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  if (reaped && WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);
  return result;
}

}  // namespace

CredentialProvider::CredentialProvider(const RestConfig& config, Options options)
    : static_token_(config.token),
      token_file_(config.token_file),
      exec_(config.exec),
      server_(config.server),
      ca_pem_(config.tls.ca_pem),
      insecure_(config.tls.insecure_skip_verify),
      options_(options) {}

int CredentialProvider::exec_runs() const {
  std::lock_guard<std::mutex> l(mu_);
  return exec_runs_;
}

int CredentialProvider::file_reads() const {
  std::lock_guard<std::mutex> l(mu_);
  return file_reads_;
}

void CredentialProvider::Invalidate() {
  std::lock_guard<std::mutex> l(mu_);
  ++exec_generation_;
  have_cached_ = false;
  exec_expiry_.reset();
  file_mtime_ns_ = -1;
}

StatusOr<std::string> CredentialProvider::Token() {
  if (exec_) return TokenFromExec();
  std::lock_guard<std::mutex> l(mu_);
  if (!token_file_.empty()) return TokenFromFile();
  return static_token_;
}

bool CredentialProvider::ExecTokenFreshLocked(std::chrono::system_clock::time_point now) const {
  return have_cached_ && (!exec_expiry_ || *exec_expiry_ - std::chrono::seconds(10) > now);
}

StatusOr<std::string> CredentialProvider::TokenFromFile() {
  struct stat st {};
  auto now = std::chrono::steady_clock::now();
  if (::stat(token_file_.c_str(), &st) != 0) {
    // Keep using a token we already have: the kubelet replaces the file
    // atomically, but a transient miss must not fail every request.
    if (have_cached_) return cached_;
    return Status::Unavailable("token file " + token_file_ + ": " + std::strerror(errno));
  }
  int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  bool changed = mtime_ns != file_mtime_ns_ || static_cast<int64_t>(st.st_size) != file_size_;
  if (have_cached_ && !changed && now - file_read_at_ < options_.file_refresh) return cached_;
  std::ifstream in(token_file_, std::ios::binary);
  if (!in) {
    if (have_cached_) return cached_;
    return Status::Unavailable("token file " + token_file_ + ": cannot open");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = Trim(ss.str());
  ++file_reads_;
  if (token.empty()) {
    if (have_cached_) return cached_;
    return Status::Unavailable("token file " + token_file_ + " is empty");
  }
  cached_ = token;
  have_cached_ = true;
  file_read_at_ = now;
  file_mtime_ns_ = mtime_ns;
  file_size_ = static_cast<int64_t>(st.st_size);
  return cached_;
}

StatusOr<std::string> CredentialProvider::TokenFromExec() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (ExecTokenFreshLocked(std::chrono::system_clock::now())) return cached_;
  }
  // One plugin run at a time; the state lock is NOT held while it runs, so
  // Invalidate() and other readers never wait on a plugin (which has its own
  // deadline, options_.exec_timeout).
  std::lock_guard<std::mutex> run_lock(exec_run_mu_);
  uint64_t generation;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (ExecTokenFreshLocked(std::chrono::system_clock::now())) return cached_;  // refreshed meanwhile
    ++exec_runs_;
    generation = exec_generation_;
  }

  const ExecConfig& e = *exec_;
  const std::string what = "exec credential plugin \"" + e.command + "\"";
  std::string command = e.command;
  if (command.find('/') != std::string::npos && !std::filesystem::path(command).is_absolute()) {
    command = (std::filesystem::path(e.base_dir) / command).lexically_normal().string();
  }
  nlohmann::json info = {{"apiVersion", e.api_version},
                         {"kind", "ExecCredential"},
                         {"spec", {{"interactive", false}}}};
  if (e.provide_cluster_info) {
    nlohmann::json cluster = {{"server", server_}};
    if (!ca_pem_.empty()) cluster["certificate-authority-data"] = Base64Encode(ca_pem_);
    if (insecure_) cluster["insecure-skip-tls-verify"] = true;
    info["spec"]["cluster"] = cluster;
  }
  std::vector<std::string> argv = {command};
  argv.insert(argv.end(), e.args.begin(), e.args.end());
  std::vector<std::string> env = {"KUBERNETES_EXEC_INFO=" + info.dump()};
  for (const auto& [k, v] : e.env) env.push_back(k + "=" + v);

  auto run = RunProcess(argv, env, options_.exec_timeout);
  if (!run.ok()) return run.status().WithContext(what);
  std::string stderr_text = http::RedactSecrets(Excerpt(run->err, 512));
  if (run->timed_out) {
    return Status::Unavailable(what + ": timed out after " + std::to_string(options_.exec_timeout.count()) + " s");
  }
  if (run->exit_code != 0) {
    return Status::Unavailable(what + ": exited with code " + std::to_string(run->exit_code) +
                               (stderr_text.empty() ? std::string() : ": " + stderr_text));
  }
  auto cred = safe_json::Parse(run->out);
  if (!cred.is_object()) return Status::InvalidArgument(what + ": output is not an ExecCredential JSON object");
  const std::string kind = safe_json::String(cred, "kind");
  if (kind != "ExecCredential") {
    return Status::InvalidArgument(what + ": output kind is \"" + Excerpt(kind, 64) + "\", want ExecCredential");
  }
  const std::string api_version = safe_json::String(cred, "apiVersion");
  if (api_version != e.api_version) {
    return Status::InvalidArgument(what + ": output apiVersion \"" + Excerpt(api_version, 64) +
                                   "\" does not match the configured \"" + e.api_version + "\"");
  }
  const nlohmann::json* status = safe_json::FindObject(cred, "status");
  if (status == nullptr) return Status::InvalidArgument(what + ": output has no status");
  std::string token = safe_json::String(*status, "token");
  if (token.empty()) {
    if (status->contains("clientCertificateData")) {
      return Status::InvalidArgument(what + ": client certificates from exec plugins are not supported");
    }
    return Status::InvalidArgument(what + ": status.token is empty");
  }
  std::optional<std::chrono::system_clock::time_point> expiry_at;
  std::string expiry = safe_json::String(*status, "expirationTimestamp");
  if (!expiry.empty()) {
    auto t = ParseRfc3339(expiry);
    if (!t) return Status::InvalidArgument(what + ": bad status.expirationTimestamp \"" + Excerpt(expiry, 64) + "\"");
    expiry_at = *t;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (generation == exec_generation_) {  // not invalidated while the plugin ran
    cached_ = token;
    have_cached_ = true;
    exec_expiry_ = expiry_at;
  }
  return token;
}

}  // namespace kinema::kube
