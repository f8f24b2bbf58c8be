#include "tests/kube/sim_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace kinema::testing {

namespace fs = std::filesystem;
using kube::Json;

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

namespace {
bool PortAnswers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

SimProcess::~SimProcess() {
  Stop();
  if (!dir_.empty() && std::getenv("KINEMA_KEEP_SIM_DIR") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

Status SimProcess::Start(const SimOptions& options) {
  const char* bin_dir = std::getenv("KINEMA_BIN_DIR");
  std::string bin = std::string(bin_dir != nullptr ? bin_dir : "build/bin") + "/kinema-sim";
  if (!fs::exists(bin)) return Status::NotFound("kinema-sim binary not found at " + bin);
  static int counter = 0;
  dir_ = (fs::temp_directory_path() /
          ("kinema-sim-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
             .string();
  fs::create_directories(dir_);
  std::ofstream(dir_ + "/snapshot.json") << options.snapshot.dump();
  std::ofstream(dir_ + "/catalog.json") << options.catalog.dump();
  kubeconfig_ = dir_ + "/kubeconfig";
  port_ = FreeLoopbackPort();
  std::vector<std::string> args = {bin,
                                   "--snapshot", dir_ + "/snapshot.json",
                                   "--catalog", dir_ + "/catalog.json",
                                   "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--write-kubeconfig", kubeconfig_,
                                   "--seed", std::to_string(options.seed)};
  if (options.tls) args.push_back("--tls");
  if (options.watch_history > 0) {
    args.push_back("--watch-history");
    args.push_back(std::to_string(options.watch_history));
  }
  if (!options.faults.is_null()) {
    std::ofstream(dir_ + "/faults.json") << options.faults.dump();
    args.push_back("--faults");
    args.push_back(dir_ + "/faults.json");
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  std::string log = dir_ + "/sim.log";
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Status::Internal("cannot start kinema-sim");

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Internal("kinema-sim exited during startup: " + LogTail());
    }
    if (fs::exists(kubeconfig_) && PortAnswers(port_)) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::DeadlineExceeded("kinema-sim did not come up within 20 s: " + LogTail());
}

void SimProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void SimProcess::Pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void SimProcess::Resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string SimProcess::LogTail() const {
  std::ifstream in(dir_ + "/sim.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

namespace {
Json Node(const std::string& name, const std::string& zone) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"uid", "uid-" + name},
            {"labels",
             {{"kubernetes.io/hostname", name},
              {"node.kubernetes.io/instance-type", "e2-standard-4"},
              {"topology.kubernetes.io/zone", zone},
              {"cloud.google.com/gke-nodepool", "pool-e2-4"}}}}},
          {"spec", {{"providerID", "gce://proj/" + zone + "/" + name}}},
          {"status",
           {{"capacity", {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}},
            {"allocatable", {{"cpu", "3920m"}, {"memory", "13Gi"}, {"pods", "110"}}},
            {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

Json PodObj(const std::string& name, const std::string& node, const Json& labels, const Json& owner) {
  Json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", "shop"}, {"uid", "uid-" + name}, {"labels", labels}}},
            {"spec",
             {{"nodeName", node},
              {"containers",
               Json::array({{{"name", "app"},
                             {"image", "nginx:1.27"},
                             {"resources",
                              {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}},
                               {"limits", {{"cpu", "200m"}, {"memory", "256Mi"}}}}}}})}}},
            {"status",
             {{"phase", "Running"},
              {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
              {"containerStatuses",
               Json::array({{{"name", "app"},
                             {"ready", true},
                             {"resources",
                              {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}},
                               {"limits", {{"cpu", "200m"}, {"memory", "256Mi"}}}}}}})}}}};
  if (!owner.is_null()) p["metadata"]["ownerReferences"] = Json::array({owner});
  return p;
}

Json Pdb(const std::string& name, const Json& match_labels, int min_available) {
  return {{"apiVersion", "policy/v1"},
          {"kind", "PodDisruptionBudget"},
          {"metadata", {{"name", name}, {"namespace", "shop"}, {"uid", "uid-" + name}, {"generation", 1}}},
          {"spec", {{"minAvailable", min_available}, {"selector", {{"matchLabels", match_labels}}}}},
          {"status",
           {{"observedGeneration", 1},
            {"currentHealthy", min_available},
            {"desiredHealthy", min_available},
            {"expectedPods", min_available},
            {"disruptionsAllowed", 0}}}};
}
}  // namespace

Json SmallSnapshot() {
  Json items = Json::array();
  std::vector<std::string> nodes = {"node-a", "node-b", "node-c"};
  items.push_back(Node("node-a", "us-central1-a"));
  items.push_back(Node("node-b", "us-central1-a"));
  items.push_back(Node("node-c", "us-central1-b"));
  Json template_spec = {{"containers",
                         Json::array({{{"name", "app"},
                                       {"image", "nginx:1.27"},
                                       {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}}}})}};
  items.push_back({{"apiVersion", "apps/v1"},
                   {"kind", "Deployment"},
                   {"metadata", {{"name", "web"}, {"namespace", "shop"}, {"uid", "uid-deploy-web"}, {"generation", 1}}},
                   {"spec",
                    {{"replicas", 6},
                     {"selector", {{"matchLabels", {{"app", "web"}}}}},
                     {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", template_spec}}}}},
                   {"status", {{"observedGeneration", 1}, {"replicas", 6}, {"readyReplicas", 6},
                               {"availableReplicas", 6}, {"updatedReplicas", 6}}}});
  items.push_back({{"apiVersion", "apps/v1"},
                   {"kind", "ReplicaSet"},
                   {"metadata",
                    {{"name", "web-5d8f"},
                     {"namespace", "shop"},
                     {"uid", "uid-rs-web"},
                     {"labels", {{"app", "web"}, {"pod-template-hash", "5d8f"}}},
                     {"ownerReferences",
                      Json::array({{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "web"},
                                    {"uid", "uid-deploy-web"}, {"controller", true}}})}}},
                   {"spec",
                    {{"replicas", 6},
                     {"selector", {{"matchLabels", {{"app", "web"}, {"pod-template-hash", "5d8f"}}}}},
                     {"template",
                      {{"metadata", {{"labels", {{"app", "web"}, {"pod-template-hash", "5d8f"}}}}},
                       {"spec", template_spec}}}}},
                   {"status", {{"replicas", 6}, {"readyReplicas", 6}, {"availableReplicas", 6}}}});
  Json rs_owner = {{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "web-5d8f"},
                   {"uid", "uid-rs-web"}, {"controller", true}};
  for (int i = 0; i < 6; ++i) {
    items.push_back(PodObj("web-5d8f-" + std::to_string(i), nodes[i % 3], {{"app", "web"}, {"pod-template-hash", "5d8f"}},
                           rs_owner));
  }
  for (int i = 0; i < 2; ++i) {
    items.push_back(PodObj("guarded-" + std::to_string(i), nodes[i], {{"app", "guarded"}}, nullptr));
  }
  items.push_back(PodObj("double-0", "node-c", {{"app", "double"}, {"tier", "x"}}, nullptr));
  items.push_back(Pdb("guarded", {{"app", "guarded"}}, 2));
  items.push_back(Pdb("double-1", {{"app", "double"}}, 0));
  items.push_back(Pdb("double-2", {{"tier", "x"}}, 0));
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

Json SmallCatalog() {
  return {{"provider", "gce"},
          {"region", "us-central1"},
          {"currency", "USD"},
          {"machineTypes",
           Json::array({{{"name", "e2-standard-4"},
                         {"vcpu", 4},
                         {"memoryMiB", 16384},
                         {"allocatable", {{"cpu", "3920m"}, {"memory", "13Gi"}, {"pods", 110}}},
                         {"zones", Json::array({"us-central1-a", "us-central1-b"})},
                         {"pricePerHour", {{"onDemand", 0.134023}, {"spot", 0.0402}}},
                         {"labels", {{"cloud.google.com/gke-nodepool", "pool-e2-4"}}},
                         {"taints", Json::array()}}})}};
}

}  // namespace kinema::testing
