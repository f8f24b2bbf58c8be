#include "tests/sim/sim_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace kinema::simtest {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string YamlValue(const std::string& yaml, const std::string& key) {
  size_t p = yaml.find(key + ": ");
  if (p == std::string::npos) return "";
  size_t start = p + key.size() + 2;
  size_t end = yaml.find('\n', start);
  std::string v = yaml.substr(start, end - start);
  if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

std::string BinDir() {
  const char* d = std::getenv("KINEMA_BIN_DIR");
  return d ? d : "build/bin";
}

std::string SourceDir() {
  const char* d = std::getenv("KINEMA_SOURCE_DIR");
  return d ? d : ".";
}

CommandResult RunCommand(const std::string& command) {
  char tmpl[] = "/tmp/kinema-simtest-cmd-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string out = dir + "/out", err = dir + "/err";
  std::string full = "bash -c '" ;
  // Single-quote-escape the command for bash -c.
  for (char c : command) {
    if (c == '\'') full += "'\\''";
    else full += c;
  }
  full += "' >" + out + " 2>" + err;
  int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  std::filesystem::remove_all(dir);
  return r;
}

SimProcess::SimProcess(std::vector<std::string> extra) {
  char tmpl[] = "/tmp/kinema-simtest-XXXXXX";
  dir_ = mkdtemp(tmpl);
  kubeconfig_ = dir_ + "/kubeconfig";
  std::string bin = BinDir() + "/kinema-sim";
  std::vector<std::string> args = {bin,
                                   "--snapshot", SourceDir() + "/tests/sim/data/small-snapshot.json",
                                   "--catalog", SourceDir() + "/tests/sim/data/catalog.json",
                                   "--listen", "127.0.0.1:0",
                                   "--write-kubeconfig", kubeconfig_};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string log = dir_ + "/sim.log";
  pid_ = fork();
  if (pid_ == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(kubeconfig_)) {
      std::string kc = ReadFile(kubeconfig_);
      url_ = YamlValue(kc, "server");
      token_ = YamlValue(kc, "token");
      ok_ = !url_.empty();
      return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

SimProcess::~SimProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string SimProcess::Kubectl() const {
  return "kubectl --kubeconfig " + kubeconfig_ + " --cache-dir " + dir_ + "/cache --request-timeout=20s";
}

std::string SimProcess::Curl(bool with_token) const {
  std::string c = "curl -sS --noproxy '*' --max-time 20";
  if (url_.rfind("https", 0) == 0) c += " --cacert " + kubeconfig_ + ".ca.crt";
  if (with_token) c += " -H 'Authorization: Bearer " + token_ + "'";
  return c;
}

std::string SimProcess::Log() const { return ReadFile(dir_ + "/sim.log"); }

}  // namespace kinema::simtest
