// Kinema deployed the way a user deploys it: `kubectl apply -k` of deploy/
// (through a kustomize overlay that points the config at the simulated
// cloud and Prometheus, as an operator's overlay points it at theirs)
// against kinema-sim, whose run-image kubelet runs the kinema-0 pod of the
// StatefulSet as a real process with in-cluster config, under the RBAC
// rules deploy/ grants (enforced by the simulator for the pod's
// ServiceAccount token). The image's ENTRYPOINT comes from deploy/Dockerfile.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::BinPath;
using testing::ReadFile;
using testing::RunProcess;

const char kKinemaUser[] = "system:serviceaccount:kube-system:kinema";

std::string Source(const std::string& rel) {
  const char* d = std::getenv("KINEMA_SOURCE_DIR");
  return std::string(d ? d : ".") + "/" + rel;
}

int FreePort() {
  auto r = RunProcess({"/usr/bin/env", "python3", "-c",
                       "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"});
  return std::atoi(r.out.c_str());
}

// The Dockerfile's ENTRYPOINT with its program mapped to the local build:
// the --run-image value standing for the image.
std::string RunImageFromDockerfile() {
  std::ifstream in(Source("deploy/Dockerfile"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ENTRYPOINT ", 0) != 0) continue;
    json argv = json::parse(line.substr(11), nullptr, false);
    if (!argv.is_array() || argv.empty()) return "";
    std::string out = "kinema=" + BinPath(argv[0].get<std::string>());
    for (size_t i = 1; i < argv.size(); ++i) out += " " + argv[i].get<std::string>();
    return out;
  }
  return "";
}

// Index of the ClusterRole rule granting `resource` in deploy/clusterrole.yaml.
int RuleIndex(const std::string& resource) {
  std::ifstream in(Source("deploy/clusterrole.yaml"));
  std::string line;
  int index = -1;
  while (std::getline(in, line)) {
    if (line.find("- apiGroups:") != std::string::npos) ++index;
    if (line.find("\"" + resource + "\"") != std::string::npos && line.find("resources:") != std::string::npos) {
      return index;
    }
  }
  return -1;
}

struct InCluster {
  explicit InCluster(E2eOptions o) : c(Defaults(std::move(o))) {}
  static E2eOptions Defaults(E2eOptions o) {
    o.tls = true;
    return o;
  }
  E2eCluster c;
  std::string overlay, journal, state_dir;
  int status_port = 0;

  std::string Start() {
    // A short --state-dir: the journal's admin socket lives under it.
    std::string err = c.Start();
    return err;
  }

  // The overlay: deploy/ unchanged as its base; kinema.yaml and the catalog
  // for the simulated cloud; the status port moved off 8080 (the process
  // shares this machine's network); optionally one ClusterRole rule removed.
  std::string WriteOverlay(int remove_rule) {
    overlay = c.File("overlay");
    fs::create_directories(overlay);
    std::string config = ReadFile(c.config());
    std::string out;
    std::istringstream lines(config);
    std::string l;
    while (std::getline(lines, l)) {
      if (l.rfind("kubeconfig:", 0) == 0) continue;  // in-cluster config
      if (l.rfind("journal:", 0) == 0) l = "journal: /var/lib/kinema/kinema.db";
      if (l.rfind("catalog:", 0) == 0) l = "catalog: /etc/kinema/catalog.json";
      if (l.find("address: 127.0.0.1:0") != std::string::npos) l = "  address: 127.0.0.1:" + std::to_string(status_port);
      out += l + "\n";
    }
    out += "loop:\n  cooldown: 10m\n";
    auto indent = [](const std::string& text) {
      std::string r;
      std::istringstream in(text);
      std::string x;
      while (std::getline(in, x)) r += "    " + x + "\n";
      return r;
    };
    std::ofstream(overlay + "/config.yaml") << "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kinema-config\n"
                                            << "  namespace: kube-system\ndata:\n  kinema.yaml: |\n"
                                            << indent(out) << "  catalog.json: |\n"
                                            << indent(ReadFile(c.File("catalog.json")));
    std::string port = std::to_string(status_port);
    std::string sts_patch = "      - op: replace\n        path: /spec/template/spec/containers/0/ports/0/containerPort\n"
                            "        value: " + port + "\n";
    for (const char* probe : {"startupProbe", "livenessProbe", "readinessProbe"}) {
      sts_patch += std::string("      - op: replace\n        path: /spec/template/spec/containers/0/") + probe +
                   "/httpGet/port\n        value: " + port + "\n";
    }
    std::string k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " +
                    fs::relative(Source("deploy"), overlay).string() +
                    "\npatches:\n  - path: config.yaml\n  - target: {kind: StatefulSet, name: kinema}\n    patch: |-\n" +
                    sts_patch;
    if (remove_rule >= 0) {
      k += "  - target: {kind: ClusterRole, name: kinema}\n    patch: |-\n      - op: remove\n        path: /rules/" +
           std::to_string(remove_rule) + "\n";
    }
    std::ofstream(overlay + "/kustomization.yaml") << k;
    return overlay;
  }

  json Pod() const { return c.KubectlJson({"get", "pod", "kinema-0", "-n", "kube-system"}); }

  // Waits until kinema-0 (a new one if `old_uid` is given) is Ready; the pod (null on timeout).
  json WaitReady(int timeout_s, const std::string& old_uid = "") const {
    for (int i = 0; i < timeout_s * 5; ++i) {
      json p = Pod();
      if (p.is_object() && p["metadata"].value("uid", "") != old_uid && !p["metadata"].contains("deletionTimestamp")) {
        for (const auto& cond : p["status"].value("conditions", json::array())) {
          if (cond.value("type", "") == "Ready" && cond.value("status", "") == "True") return p;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return json();
  }

  // The journal on the PersistentVolume bound to data-kinema-0.
  std::string JournalPath() const {
    json pvc = c.KubectlJson({"get", "pvc", "data-kinema-0", "-n", "kube-system"});
    if (!pvc.is_object()) return "";
    json pv = c.KubectlJson({"get", "pv", pvc["spec"].value("volumeName", "")});
    if (!pv.is_object()) return "";
    return pv["spec"]["hostPath"].value("path", "") + "/kinema.db";
  }

  json Kinemactl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {BinPath("kinemactl"), "--db", journal, "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProcess(argv);
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  // Polls the journal until the first workflow satisfies `pred`.
  json WaitWorkflow(int timeout_s, const std::function<bool(const json&)>& pred) const {
    for (int i = 0; i < timeout_s * 5; ++i) {
      json list = Kinemactl({"list"});
      if (list.is_array() && !list.empty() && pred(list[0])) return list[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return json();
  }

  // Audit lines of requests made with the kinema ServiceAccount's token.
  std::vector<json> KinemaRequests() const {
    std::vector<json> out;
    std::ifstream in(c.File("audit.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("user", "") == kKinemaUser) out.push_back(j);
    }
    return out;
  }

  std::string Diagnostics() const {
    auto logs = c.Kubectl({"logs", "kinema-0", "-n", "kube-system", "--tail=60"});
    return c.Logs() + "\n--- kubectl logs kinema-0\n" + Tail(logs.out + logs.err, 5000);
  }
};

E2eOptions Options(const std::string& state_dir) {
  E2eOptions o;
  o.sim_args = {"--run-image", RunImageFromDockerfile(), "--state-dir", state_dir};
  return o;
}

TEST(InClusterTest, DeployAppliesUnchangedAndItsServiceAccountGetsExactlyItsRbac) {
  E2eOptions o;
  o.tls = true;
  o.prometheus = false;
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "");
  auto applied = c.Kubectl({"apply", "-k", Source("deploy")});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  int created = 0;
  for (size_t at = 0; (at = applied.out.find(" created", at)) != std::string::npos; ++at) ++created;
  // Every object of the kustomization, once (kubectl kustomize renders them).
  auto rendered = c.Kubectl({"kustomize", Source("deploy")});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  int objects = 0;
  for (size_t at = 0; (at = rendered.out.find("\nkind: ", at)) != std::string::npos; ++at) ++objects;
  if (rendered.out.rfind("kind: ", 0) == 0) ++objects;
  EXPECT_GE(objects, 9);
  EXPECT_EQ(created, objects) << applied.out;
  auto again = c.Kubectl({"apply", "-k", Source("deploy")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("configured"), std::string::npos) << "a second apply changes nothing: " << again.out;
  json pvc = c.KubectlJson({"get", "pvc", "data-kinema-0", "-n", "kube-system"});
  for (int i = 0; i < 50 && pvc.value("status", json::object()).value("phase", "") != "Bound"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pvc = c.KubectlJson({"get", "pvc", "data-kinema-0", "-n", "kube-system"});
  }
  EXPECT_EQ(pvc.value("status", json::object()).value("phase", ""), "Bound") << pvc.dump();

  // A token from the TokenRequest API (kubectl's protobuf request) is the ServiceAccount.
  auto token = c.Kubectl({"create", "token", "kinema", "-n", "kube-system"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string t = token.out.substr(0, token.out.find('\n'));
  EXPECT_EQ(c.Kubectl({"--token", t, "get", "nodes"}).exit_code, 0) << "list nodes is granted";
  json deploys = c.KubectlJson({"get", "deployments", "-n", "shop"});
  ASSERT_FALSE(deploys["items"].empty());
  std::string name = deploys["items"][0]["metadata"]["name"];
  auto patch = c.Kubectl({"--token", t, "-n", "shop", "patch", "deployment", name, "-p", R"({"metadata":{"labels":{"x":"y"}}})"});
  EXPECT_NE(patch.exit_code, 0);
  EXPECT_NE(patch.err.find("deployments.apps \"" + name + "\" is forbidden: User \"" + std::string(kKinemaUser) +
                           "\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"shop\""),
            std::string::npos)
      << patch.err;
  auto secrets = c.Kubectl({"--token", t, "get", "secrets", "-A"});
  EXPECT_NE(secrets.exit_code, 0);
  EXPECT_NE(secrets.err.find("cannot list resource \"secrets\" in API group \"\" at the cluster scope"), std::string::npos)
      << secrets.err;
  EXPECT_NE(c.Kubectl({"--token", t + "x", "get", "nodes"}).exit_code, 0) << "a forged token is 401";
}

TEST(InClusterTest, RunsAsStatefulSetPodSurvivesKillAndPodDeletionUnderEnforcedRbac) {
  testing::TempDir state;
  ASSERT_NE(RunImageFromDockerfile(), "") << "deploy/Dockerfile has an ENTRYPOINT [\"kinema\", ...]";
  InCluster e(Options(state.path() + "/s"));
  ASSERT_EQ(e.Start(), "");
  e.status_port = FreePort();
  json before = e.c.Report();
  auto applied = e.c.Kubectl({"apply", "-k", e.WriteOverlay(-1)});
  ASSERT_EQ(applied.exit_code, 0) << applied.err << applied.out;
  for (const char* created : {"serviceaccount/kinema created", "clusterrole.rbac.authorization.k8s.io/kinema created",
                              "rolebinding.rbac.authorization.k8s.io/kinema-leader-election created",
                              "configmap/kinema-config created", "service/kinema created",
                              "statefulset.apps/kinema created"}) {
    EXPECT_NE(applied.out.find(created), std::string::npos) << applied.out;
  }

  json pod = e.WaitReady(60);
  ASSERT_TRUE(pod.is_object()) << "kinema-0 never became Ready" << e.Diagnostics();
  const std::string node = pod["spec"].value("nodeName", "");
  const std::string first_uid = pod["metadata"].value("uid", "");
  std::string cid = pod["status"]["containerStatuses"][0].value("containerID", "");
  ASSERT_EQ(cid.rfind("kinema-sim://", 0), 0u) << pod.dump();
  pid_t pid = std::atoi(cid.substr(13).c_str());
  e.journal = e.JournalPath();
  ASSERT_NE(e.journal, "");

  // In-cluster config, the Lease, an iteration under way.
  json lease = e.c.KubectlJson({"get", "lease", "kinema", "-n", "kube-system"});
  ASSERT_TRUE(lease.is_object()) << e.Diagnostics();
  EXPECT_EQ(lease["spec"].value("holderIdentity", "").rfind("kinema-0-", 0), 0u) << lease.dump();
  json mid = e.WaitWorkflow(90, [](const json& w) {
    std::string s = w.value("currentStep", "");
    return s == "node-boot" || s == "labeling" || s == "deployment-patch" || w.value("status", "") != "running";
  });
  ASSERT_TRUE(mid.is_object()) << e.Diagnostics();
  ASSERT_EQ(mid.value("status", ""), "running") << "the kill must land mid-iteration: " << mid.dump();
  auto logs = e.c.Kubectl({"logs", "kinema-0", "-n", "kube-system"});
  EXPECT_NE(logs.out.find("leading with epoch"), std::string::npos) << Tail(logs.out);
  EXPECT_NE(logs.out.find("in-cluster"), std::string::npos) << "uses in-cluster config: " << Tail(logs.out);

  // SIGKILL the process, delete the pod: the StatefulSet recreates kinema-0
  // on the same claim, which resumes the journal.
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  auto del = e.c.Kubectl({"delete", "pod", "kinema-0", "-n", "kube-system", "--wait=false"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  json again = e.WaitReady(60, first_uid);
  ASSERT_TRUE(again.is_object()) << "kinema-0 was not recreated" << e.Diagnostics();
  EXPECT_EQ(e.JournalPath(), e.journal) << "the same claim, the same journal";

  json done = e.WaitWorkflow(150, [](const json& w) { return w.value("status", "") != "running"; });
  ASSERT_TRUE(done.is_object()) << e.Diagnostics();
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump() << e.Diagnostics();
  json list = e.Kinemactl({"list"});
  EXPECT_EQ(list.size(), 1u) << "resumed, not restarted: " << list.dump();
  json show = e.Kinemactl({"show", done["id"]});
  const json& plan = show["steps"][2]["result"]["plan"];
  json after = e.c.Report();
  const PlanActions planned = CountPlanActions(plan);
  // As an uninterrupted run: each planned boot and retirement exactly once, no harm.
  EXPECT_EQ(after["cloud"]["instancesCreated"], planned.boot) << after.dump();
  EXPECT_EQ(after["cloud"]["instancesDeleted"], planned.retire) << after.dump();
  EXPECT_EQ(after["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_EQ(after["cloud"]["orphanInstances"], 0);
  EXPECT_EQ(after["pdbViolations"], 0);
  EXPECT_EQ(after["availability"]["deploymentsBelowMinAvailable"], 0);
  EXPECT_NEAR(after["costPerHour"].get<double>(), plan["costPerHourAfter"].get<double>(), 1e-3);
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>());
  // The node running Kinema (kube-system) is never retired.
  for (const auto& n : plan.value("nodes", json::array())) {
    if (n.value("name", "") == node) {
      EXPECT_NE(n.value("action", ""), "retire") << n.dump();
    }
  }
  EXPECT_TRUE(e.c.KubectlJson({"get", "node", node}).is_object()) << "node " << node << " still exists";
  EXPECT_EQ(RunProcess({BinPath("kinemactl"), "--db", e.journal, "verify"}).exit_code, 0);

  // Every request came with the ServiceAccount's token and none was denied.
  auto requests = e.KinemaRequests();
  EXPECT_GT(requests.size(), 50u);
  std::set<std::string> verbs;
  for (const auto& r : requests) {
    EXPECT_NE(r.value("code", 0), 403) << r.dump();
    verbs.insert(r.value("verb", "") + " " + r.value("resource", ""));
  }
  EXPECT_TRUE(verbs.count("update nodes") && verbs.count("delete nodes") && verbs.count("update deployments"))
      << "the iteration's writes went through RBAC";
}

TEST(InClusterTest, MissingClusterRoleRuleIsAClearResumableErrorInTheJournal) {
  testing::TempDir state;
  InCluster e(Options(state.path() + "/s"));
  e.state_dir = state.path() + "/s";
  ASSERT_EQ(e.Start(), "");
  e.status_port = FreePort();
  int rule = RuleIndex("horizontalpodautoscalers");
  ASSERT_GE(rule, 0);
  auto applied = e.c.Kubectl({"apply", "-k", e.WriteOverlay(rule)});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  ASSERT_TRUE(e.WaitReady(60).is_object()) << e.Diagnostics();
  e.journal = e.JournalPath();
  json failed = e.WaitWorkflow(60, [](const json& w) { return w.value("status", "") != "running"; });
  ASSERT_TRUE(failed.is_object()) << e.Diagnostics();
  ASSERT_EQ(failed.value("status", ""), "failed") << failed.dump();
  json show = e.Kinemactl({"show", failed["id"]});
  std::string error = show["steps"][0].value("error", "");
  EXPECT_NE(error.find("horizontalpodautoscalers.autoscaling is forbidden: User \"" + std::string(kKinemaUser) +
                       "\" cannot list resource \"horizontalpodautoscalers\" in API group \"autoscaling\" at the "
                       "cluster scope"),
            std::string::npos)
      << show["steps"][0].dump();
  bool denied = false;
  for (const auto& r : e.KinemaRequests()) {
    if (r.value("code", 0) == 403) {
      denied = true;
      EXPECT_EQ(r.value("resource", ""), "horizontalpodautoscalers") << r.dump();
    }
  }
  EXPECT_TRUE(denied);
  EXPECT_TRUE(e.Pod()["status"]["containerStatuses"][0].value("ready", false)) << "the controller keeps running";

  // Fix the role, resume: the same workflow completes.
  auto fixed = e.c.Kubectl({"apply", "-k", e.WriteOverlay(-1)});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  json resumed = e.Kinemactl({"resume", failed["id"], "--reason", "granted list horizontalpodautoscalers"});
  EXPECT_EQ(resumed.value("accepted", false), true) << resumed.dump();
  json done = e.WaitWorkflow(150, [](const json& w) { return w.value("status", "") != "running"; });
  ASSERT_TRUE(done.is_object()) << e.Diagnostics();
  EXPECT_EQ(done.value("status", ""), "completed") << done.dump() << e.Diagnostics();
  EXPECT_EQ(done.value("id", ""), failed.value("id", ""));

  // Deleting the pod stops the process as a kubelet does: SIGTERM, and
  // Kinema stops at a safe point well within the 30 s grace period.
  json pod = e.Pod();
  std::string uid = pod["metadata"].value("uid", "");
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(e.c.Kubectl({"delete", "pod", "kinema-0", "-n", "kube-system", "--wait=true", "--timeout=60s"}).exit_code, 0);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(seconds, 25) << "stopped on SIGTERM, not killed at the end of the grace period";
  std::string log = ReadFile(e.state_dir + "/pods/kinema-0-" + uid.substr(0, 8) + "/logs/kinema.log");
  EXPECT_NE(log.find("signal 15 received"), std::string::npos) << Tail(log);
  EXPECT_TRUE(e.WaitReady(60, uid).is_object()) << "the StatefulSet brings kinema-0 back" << e.Diagnostics();
}

}  // namespace
}  // namespace kinema::e2e
