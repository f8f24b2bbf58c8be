#include "tests/e2e/e2e_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace kinema::e2e {

using testing::BinPath;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;
using testing::StartProcess;
using testing::WaitForFile;
using testing::WaitProcess;

namespace {

std::string Source(const std::string& rel) {
  const char* d = std::getenv("KINEMA_SOURCE_DIR");
  return std::string(d ? d : ".") + "/" + rel;
}

int FreePort() {
  // Let the kernel pick: bind port 0, read it, close. Racy in theory, fine here.
  auto r = RunProcess({"/usr/bin/env", "python3", "-c",
                       "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"});
  return std::atoi(r.out.c_str());
}

}  // namespace

E2eCluster::E2eCluster(E2eOptions options) : options_(std::move(options)) {}

E2eCluster::~E2eCluster() {
  for (pid_t p : {prom_, sim_}) {
    if (p > 0) {
      ::kill(p, SIGTERM);
      WaitProcess(p);
    }
  }
}

std::string E2eCluster::Start() {
  std::vector<std::string> gen_argv = {"/usr/bin/env", "python3", Source("tools/scenarios/make_scenario.py"), "--out",
                                       dir(), "--nodes", std::to_string(options_.nodes), "--scale",
                                       std::to_string(options_.scale)};
  gen_argv.insert(gen_argv.end(), options_.scenario_args.begin(), options_.scenario_args.end());
  auto gen = RunProcess(gen_argv);
  if (gen.exit_code != 0) return "make_scenario.py: " + gen.err;
  const bool keep_generated = !options_.scenario_args.empty() && options_.scenario_json == "{}" &&
                              std::ifstream(File("scenario.json")).good();
  if (!keep_generated) {
    std::ofstream f(File("scenario.json"));
    f << options_.scenario_json;
  }
  std::vector<std::string> sim_args = {BinPath("kinema-sim"),  "--snapshot",    File("snapshot.json"),
                                       "--catalog",            File("catalog.json"), "--listen",
                                       "127.0.0.1:0",          "--write-kubeconfig", File("kubeconfig"),
                                       "--time-scale",         std::to_string(options_.time_scale),
                                       "--scenario",           File("scenario.json"), "--audit-log",
                                       File("audit.jsonl")};
  if (options_.tls) sim_args.push_back("--tls");
  sim_args.insert(sim_args.end(), options_.sim_args.begin(), options_.sim_args.end());
  if (!options_.faults_json.empty()) {
    std::ofstream(File("faults.json")) << options_.faults_json;
    sim_args.insert(sim_args.end(), {"--faults", File("faults.json")});
  }
  sim_ = StartProcess(sim_args, File("sim"));
  if (!WaitForFile(File("kubeconfig"), 30000)) return "kinema-sim did not start: " + Tail(ReadFile(File("sim.err")));
  std::string kc = ReadFile(File("kubeconfig"));
  size_t at = kc.find("server: ");
  if (at == std::string::npos) return "no server in kubeconfig";
  at += 8;
  while (at < kc.size() && (kc[at] == '"' || kc[at] == '\'')) ++at;
  server_ = kc.substr(at, kc.find_first_of("\"' \n", at) - at);
  if (server_.find("//") == std::string::npos) return "cannot read the server URL from the kubeconfig:\n" + kc;

  std::string prom_url;
  if (options_.prometheus_standin) {
    prom_url = server_ + "/prometheus";
  } else if (options_.prometheus && ::access("/usr/bin/prometheus", X_OK) == 0) {
    int port = FreePort();
    std::string hostport = server_.substr(server_.find("//") + 2);
    std::ofstream f(File("prometheus.yml"));
    f << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << (options_.prometheus_rules
              ? "rule_files:\n  - " + std::filesystem::absolute(Source("deploy/prometheus/kinema-rules.yaml")).string() + "\n"
              : "")
      << "scrape_configs:\n  - job_name: kinema-sim\n    metrics_path: /metrics\n"
      << (options_.prometheus_rules ? "    honor_labels: true\n" : "")
      << "    static_configs:\n      - targets: ['" << hostport << "']\n";
    f.close();
    prom_ = StartProcess({"/usr/bin/prometheus", "--config.file=" + File("prometheus.yml"),
                          "--storage.tsdb.path=" + File("prom-data"),
                          "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                         File("prometheus"));
    prom_url = "http://127.0.0.1:" + std::to_string(port);
    prom_url_ = prom_url;
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) {
      ready = RunProcess({"/usr/bin/curl", "-sf", prom_url + "/-/ready"}).exit_code == 0;
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready) return "prometheus did not become ready: " + Tail(ReadFile(File("prometheus.err")));
  }

  journal_ = File("kinema.db");
  config_ = File("kinema.yaml");
  std::ofstream f(config_);
  f << "kubeconfig: " << File("kubeconfig") << "\n"
    << "journal: " << journal_ << "\n"
    << "catalog: " << File("catalog.json") << "\n";
  if (!prom_url.empty()) {
    f << "prometheus:\n  url: " << prom_url << "\n";
    if (!options_.prometheus_timeout.empty()) f << "  timeout: " << options_.prometheus_timeout << "\n";
  }
  f << "cloud:\n  provider: " << options_.cloud_provider << "\n  endpoint: " << plain_server()
    << "/compute/v1\n  project: shop-project\n";
  if (options_.cloud_provider == "gke") {
    f << "  containerEndpoint: " << plain_server() << "/container/v1\n  location: us-central1\n"
      << "  cluster: sim-cluster\n";
  }
  if (options_.billing_prices) {
    f << "pricing:\n  source: billing\n  endpoint: " << plain_server() << "/cloudbilling/v1\n";
  }
  f
    << "stability:\n  quietWindow: 2s\n  pollInterval: 200ms\n  deadline: 2m\n"
    << "prediction:\n  window: 30s\n  horizon: 5m\n  step: 2s\n  rateWindow: 5s\n"
    << "optimizer:\n  timeLimit: " << options_.optimizer_time_limit << "\n"
    << "decision:\n  minSavings: " << options_.min_savings << "\n  maxChange: " << options_.max_change << "\n"
    << (options_.raised_decision_budgets ? "  maxNodesRetired: 25\n  maxPodsMoved: 1000\n" : "")
    << (options_.node_budget.empty() ? "" : "budgets:\n  - nodes: \"" + options_.node_budget + "\"\n")
    << "boot:\n  timeout: " << options_.step_timeout << "\n"
    << "rollout:\n  timeout: " << options_.step_timeout << "\n"
    << (options_.stall_timeout.empty() ? "" : "  stallTimeout: " + options_.stall_timeout + "\n")
    << (options_.rollout_max_concurrent > 0
            ? "  maxConcurrent: " + std::to_string(options_.rollout_max_concurrent) + "\n"
            : "")
    << "drain:\n  timeout: " << options_.step_timeout << "\n"
    << "server:\n  address: 127.0.0.1:0\n"
    << "leaderElection:\n  namespace: kube-system\n  " << options_.lease << "\n"
    << options_.extra_config;
  return "";
}

std::string E2eCluster::plain_server() const {
  return server_.rfind("https://", 0) == 0 ? "http://" + server_.substr(8) : server_;
}

nlohmann::json E2eCluster::Report() const {
  auto r = RunProcess({"/usr/bin/curl", "-sf", plain_server() + "/sim/v1/report"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

ProcessResult E2eCluster::Kubectl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"/usr/bin/kubectl", "--kubeconfig", File("kubeconfig")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

std::vector<std::string> E2eCluster::RoomHoldsLeft() const {
  nlohmann::json pods = KubectlJson({"get", "pods", "-A", "-l", "kinema.io/room-hold"});
  if (!pods.is_object() || !pods.contains("items")) return {"<kubectl failed>"};
  std::vector<std::string> out;
  for (const auto& p : pods["items"]) {
    out.push_back(p["metadata"].value("namespace", "") + "/" + p["metadata"].value("name", ""));
  }
  return out;
}

nlohmann::json E2eCluster::KubectlJson(const std::vector<std::string>& args) const {
  std::vector<std::string> a = args;
  a.push_back("-o");
  a.push_back("json");
  auto r = Kubectl(a);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return r.exit_code != 0 || j.is_discarded() ? nlohmann::json() : j;
}

nlohmann::json E2eCluster::Kinemactl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BinPath("kinemactl"), "--db", journal_, "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunProcess(argv);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

ProcessResult E2eCluster::RunKinemaOnce(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {BinPath("kinema"), "--config", config_, "--once"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunProcess(argv);
}

pid_t E2eCluster::StartKinema(const std::vector<std::string>& args, const std::string& log_name) const {
  std::vector<std::string> argv = {BinPath("kinema"), "--config", config_};
  argv.insert(argv.end(), args.begin(), args.end());
  return StartProcess(argv, File(log_name));
}

std::string E2eCluster::WaitForCurrentStep(const std::string& step, int timeout_ms) const {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    auto list = Kinemactl({"list"});
    if (list.is_array() && !list.empty() && list[0].value("currentStep", "") == step) return list[0].value("id", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

std::string E2eCluster::Logs() const {
  std::string out;
  for (const char* name : {"sim.err", "prometheus.err", "kinema.err"}) {
    std::string t = ReadFile(File(name));
    if (!t.empty()) out += std::string("\n--- ") + name + "\n" + Tail(t);
  }
  return out;
}

const nlohmann::json* StepResult(const nlohmann::json& show, const std::string& step) {
  if (!show.is_object() || !show.contains("steps") || !show["steps"].is_array()) return nullptr;
  for (const auto& s : show["steps"]) {  // by reference: the pointer stays valid while `show` lives
    if (s.value("name", "") == step && s.contains("result")) return &s["result"];
  }
  return nullptr;
}

nlohmann::json ShowLatest(const E2eCluster& c) {
  nlohmann::json list = c.Kinemactl({"list"});
  if (!list.is_array() || list.empty()) return nullptr;
  return c.Kinemactl({"show", list[0]["id"]});
}

void KillProcess(pid_t pid) {
  ::kill(pid, SIGKILL);
  testing::WaitProcess(pid);
}

nlohmann::json JournaledIntent(const nlohmann::json& show, const std::string& step) {
  if (!show.is_object() || !show.contains("events") || !show["events"].is_array()) return nullptr;
  for (const auto& e : show["events"]) {
    if (e.value("kind", "") != "step_intent" || !e["step"].is_string() || e["step"] != step) continue;
    return e.contains("detail") && e["detail"].is_object() ? e["detail"].value("input", nlohmann::json()) : nullptr;
  }
  return nullptr;
}

void ExpectNoHarm(const nlohmann::json& report) {
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["availability"]["deploymentsBelowMinAvailable"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << report.dump();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0) << report.dump();
}

std::vector<nlohmann::json> NodesWithKinemaMarks(const E2eCluster& c) {
  using nlohmann::json;
  std::vector<json> out;
  json nodes = c.KubectlJson({"get", "nodes"});
  for (const auto& n : nodes.value("items", json::array())) {
    const json& labels = n["metadata"].value("labels", json::object());
    bool marked = labels.contains("kinema.io/retire");
    for (const auto& t : n.value("spec", json::object()).value("taints", json::array())) {
      marked = marked || t.value("key", "") == "kinema.io/retire";
    }
    if (marked) out.push_back(n);
  }
  return out;
}

int KillsFromEnv(const char* var, int fallback) {
  const char* k = std::getenv(var);
  const int n = k != nullptr ? std::atoi(k) : 0;
  return n > 0 ? n : fallback;
}

std::string Tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

PlanActions CountPlanActions(const nlohmann::json& plan) {
  PlanActions a;
  for (const auto& n : plan.value("nodes", nlohmann::json::array())) {
    a.boot += n.value("action", "") == "boot";
    a.retire += n.value("action", "") == "retire";
  }
  return a;
}

}  // namespace kinema::e2e
