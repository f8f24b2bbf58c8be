// End to end for the inplace-resize kind: the real controller against
// kinema-sim's `--resize` scenario (a memory leak climbing toward its limit,
// idle over-requested pods, a RestartContainer pod, a Guaranteed pod, a pod
// on a full node), served through metrics.k8s.io and pods/resize. A second
// simulator runs the same scenario without Kinema as the control: the
// report's oomKills compares both runs.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "engine/common/time.h"
#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::WaitProcess;

constexpr const char* kSelector = "app in (leaky,idle,restarter,guaranteed,crowded)";

E2eOptions ResizeOptions() {
  E2eOptions o;
  o.nodes = 6;
  o.scale = 1;
  o.time_scale = 20;
  o.prometheus = false;  // usage comes from metrics.k8s.io
  o.scenario_args = {"--resize"};
  o.extra_config = std::string("resize:\n  enabled: true\n  interval: 1s\n  selector: \"") + kSelector +
                   "\"\n  verifyTimeout: 3s\n";
  return o;
}

int64_t SimNowMs(const E2eCluster& c) {
  json r = c.Report();
  if (!r.is_object() || !r.contains("time")) return 0;
  return ParseRfc3339Ms(r["time"].get<std::string>()).value_or(0);
}

// Waits until the simulated clock reached `t_ms`.
bool WaitForSimTime(const E2eCluster& c, int64_t t_ms, int timeout_s) {
  for (int i = 0; i < timeout_s * 5; ++i) {
    if (SimNowMs(c) >= t_ms) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

json Container(const json& pod) { return pod["spec"]["containers"][0]; }
std::string MemRequest(const json& pod) { return Container(pod)["resources"]["requests"].value("memory", ""); }
std::string MemLimit(const json& pod) {
  return Container(pod)["resources"].value("limits", json::object()).value("memory", "");
}

std::map<std::string, json> PodsByApp(const E2eCluster& c, const std::string& app) {
  std::map<std::string, json> out;
  json pods = c.KubectlJson({"get", "pods", "-n", "resize", "-l", "app=" + app});
  for (const auto& p : pods.value("items", json::array())) out[p["metadata"]["name"]] = p;
  return out;
}

// Every container's resources of the pods the selector does not select.
std::map<std::string, json> UnselectedResources(const E2eCluster& c) {
  std::map<std::string, json> out;
  json all = c.KubectlJson({"get", "pods", "-A"});
  std::set<std::string> selected = {"leaky", "idle", "restarter", "guaranteed", "crowded"};
  for (const auto& p : all.value("items", json::array())) {
    const std::string app = p["metadata"].value("labels", json::object()).value("app", "");
    if (selected.count(app)) continue;
    json rs = json::array();
    for (const auto& ct : p["spec"]["containers"]) rs.push_back(ct.value("resources", json::object()));
    out[p["metadata"]["namespace"].get<std::string>() + "/" + p["metadata"]["name"].get<std::string>()] = rs;
  }
  return out;
}

double Mi(const std::string& q) {
  if (q.size() > 2 && q.substr(q.size() - 2) == "Mi") return std::stod(q.substr(0, q.size() - 2));
  if (q.size() > 2 && q.substr(q.size() - 2) == "Gi") return std::stod(q.substr(0, q.size() - 2)) * 1024;
  return std::stod(q) / (1024.0 * 1024.0);
}

TEST(ResizeEndToEndTest, SurgeCausesNoOomKillIdlePodsShrinkAfterCooldownUnselectedUntouched) {
  E2eCluster with(ResizeOptions());
  E2eOptions control_options = ResizeOptions();
  E2eCluster without(control_options);
  ASSERT_EQ(with.Start(), "") << with.Logs();
  ASSERT_EQ(without.Start(), "") << without.Logs();
  const int64_t t0 = SimNowMs(with);
  ASSERT_GT(t0, 0);
  const auto unselected_before = UnselectedResources(with);
  ASSERT_FALSE(unselected_before.empty());

  // Fresh idle pods: a pod never resized counts its cooldown from its start.
  ASSERT_EQ(with.Kubectl({"delete", "pods", "-n", "resize", "-l", "app=idle", "--wait=false"}).exit_code, 0);
  pid_t k = with.StartKinema({"--kind", "inplace-resize"}, "kinema");
  ASSERT_GT(k, 0);

  // After the window (5 simulated minutes) is covered but before the cooldown
  // (10 simulated minutes from the pods' start): idle pods keep their 2Gi.
  ASSERT_TRUE(WaitForSimTime(with, t0 + 7 * 60000, 120)) << with.Logs();
  for (const auto& [name, p] : PodsByApp(with, "idle")) EXPECT_EQ(MemRequest(p), "2Gi") << name;
  // Leaky pods were already scaled up (they reached 80 % of their 256Mi request at once).
  for (const auto& [name, p] : PodsByApp(with, "leaky")) EXPECT_GT(Mi(MemRequest(p)), 256) << name;

  // 14 simulated minutes: the leak passes its original 512Mi limit at ~10.
  ASSERT_TRUE(WaitForSimTime(with, t0 + 14 * 60000, 240)) << with.Logs();
  ASSERT_TRUE(WaitForSimTime(without, t0 + 14 * 60000, 240)) << without.Logs();
  ::kill(k, SIGTERM);
  EXPECT_EQ(WaitProcess(k), 0) << with.Logs();

  json rw = with.Report(), ro = without.Report();
  ASSERT_TRUE(rw.is_object() && ro.is_object());
  std::printf("oomKills over 14 simulated minutes: %d without Kinema, %d with inplace-resize; resizes %s\n",
              ro.value("oomKills", -1), rw.value("oomKills", -1), rw.value("resizes", json::object()).dump().c_str());
  EXPECT_GT(ro.value("oomKills", 0), 0) << "control run: " << ro.dump();
  EXPECT_EQ(rw.value("oomKills", -1), 0) << "with inplace-resize: " << rw.dump();
  EXPECT_GT(rw["resizes"].value("accepted", 0), 0) << rw.dump();

  // Leaky: grew in place (no restart), the limit kept its 2:1 ratio.
  for (const auto& [name, p] : PodsByApp(with, "leaky")) {
    EXPECT_GT(Mi(MemRequest(p)), 400) << name;
    EXPECT_NEAR(Mi(MemLimit(p)) / Mi(MemRequest(p)), 2.0, 0.01) << name;
    EXPECT_EQ(p["status"]["containerStatuses"][0].value("restartCount", -1), 0) << name;
  }
  // Idle: max(peak x 2.5, 100Mi) with the peak 200Mi ± the usage model's 2 % memory noise (its
  // sign depends on the pod's name) ~ 490-510Mi, the limit at twice the request (4Gi:2Gi); only
  // after the cooldown.
  for (const auto& [name, p] : PodsByApp(with, "idle")) {
    EXPECT_GE(Mi(MemRequest(p)), 490) << name;
    EXPECT_LE(Mi(MemRequest(p)), 560) << name;
    EXPECT_NEAR(Mi(MemLimit(p)) / Mi(MemRequest(p)), 2.0, 0.01) << name;
    const auto ann = p["metadata"].value("annotations", json::object());
    ASSERT_TRUE(ann.contains("kinema.io/last-resize")) << name;
    const int64_t resized = ParseRfc3339Ms(ann["kinema.io/last-resize"].get<std::string>()).value_or(0);
    std::string start = p["status"].value("startTime", "");
    if (start.empty()) start = p["metadata"].value("creationTimestamp", "");
    const int64_t started = ParseRfc3339Ms(start).value_or(INT64_MAX);
    EXPECT_GE(started, t0 - 60000) << name << ": not one of the fresh pods";
    EXPECT_GE(resized - started, 10 * 60000) << name << ": resized before the cooldown";
  }
  // Guaranteed stays Guaranteed; RestartContainer is not resized without allowRestart.
  for (const auto& [name, p] : PodsByApp(with, "guaranteed")) {
    EXPECT_GT(Mi(MemRequest(p)), 512) << name;
    EXPECT_EQ(MemRequest(p), MemLimit(p)) << name;
    EXPECT_EQ(p["status"].value("qosClass", ""), "Guaranteed") << name;
  }
  for (const auto& [name, p] : PodsByApp(with, "restarter")) EXPECT_EQ(MemRequest(p), "512Mi") << name;
  // Pods the selector does not select never change.
  EXPECT_EQ(UnselectedResources(with), unselected_before);

  // The journal: resize workflows completed, one of them explains an applied resize.
  json list = with.Kinemactl({"list", "--type", "inplace-resize"});
  ASSERT_TRUE(list.is_array());
  ASSERT_GT(list.size(), 5u);
  int applied = 0;
  for (const auto& w : list) {
    EXPECT_NE(w["status"], "failed") << w.dump();
    if (w.value("outcome", "") == "no_action") continue;
    json e = with.Kinemactl({"explain", w["id"].get<std::string>()});
    for (const auto& r : e.value("resizes", json::array())) applied += r.value("outcome", "") == "applied";
  }
  EXPECT_GT(applied, 0);
  json verify = with.Kinemactl({"verify"});
  EXPECT_EQ(verify.value("ok", false), true) << verify.dump();
}

// Bytes of a Kubernetes memory quantity as the sim writes them (Ki, Mi, Gi or plain).
double Bytes(const std::string& q) {
  static const std::vector<std::pair<std::string, double>> units = {
      {"Ki", 1024.0}, {"Mi", 1024.0 * 1024}, {"Gi", 1024.0 * 1024 * 1024}};
  for (const auto& [u, f] : units) {
    if (q.size() > u.size() && q.substr(q.size() - u.size()) == u) return std::stod(q.substr(0, q.size() - u.size())) * f;
  }
  return std::stod(q);
}

TEST(ResizeEndToEndTest, DeferredScaleUpIsHandedToReschedulingWhichPlansThePodWhereItFits) {
  E2eOptions o = ResizeOptions();
  o.extra_config = std::string("resize:\n  enabled: true\n  interval: 1s\n  selector: \"app=crowded\"\n") +
                   "  verifyTimeout: 2s\n  deferredTimeout: 1m\n";
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  // Leave 200Mi of memory on crowded's node: its scale-up (1Gi -> ~1.4Gi) cannot fit there.
  json crowded = PodsByApp(c, "crowded").begin()->second;
  const std::string node = crowded["spec"]["nodeName"];
  json nodes = c.KubectlJson({"get", "node", node});
  const double allocatable = Bytes(nodes["status"]["allocatable"]["memory"]);
  double requested = 0;
  json all = c.KubectlJson({"get", "pods", "-A", "--field-selector", "spec.nodeName=" + node});
  for (const auto& p : all["items"]) {
    for (const auto& ct : p["spec"]["containers"]) {
      requested += Bytes(ct["resources"].value("requests", json::object()).value("memory", "0"));
    }
  }
  json filler = PodsByApp(c, "filler").begin()->second;
  ASSERT_EQ(filler["spec"]["nodeName"], node);
  const double filler_mem = Bytes(MemRequest(filler));
  const int64_t grown_mi = static_cast<int64_t>((filler_mem + allocatable - requested) / (1024 * 1024)) - 200;
  const std::string patch = R"({"spec":{"containers":[{"name":"filler","resources":{"requests":{"memory":")" +
                            std::to_string(grown_mi) + R"(Mi"}}}]}})";
  auto pr = c.Kubectl({"patch", "pod", "-n", "resize", filler["metadata"]["name"], "--subresource", "resize", "-p", patch});
  ASSERT_EQ(pr.exit_code, 0) << pr.err;

  pid_t k = c.StartKinema({"--kind", "inplace-resize"}, "kinema");
  // The scale-up is Deferred by the kubelet; after resize.deferredTimeout it is handed off.
  std::string handed_off_by;
  for (int i = 0; i < 600 && handed_off_by.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    json list = c.Kinemactl({"list", "--type", "inplace-resize"});
    if (!list.is_array()) continue;
    for (const auto& w : list) {
      if (w.value("status", "") != "completed" || w.value("outcome", "") == "no_action") continue;
      json e = c.Kinemactl({"explain", w["id"].get<std::string>()});
      if (!e.value("handoffs", json::array()).empty()) handed_off_by = w["id"];
    }
  }
  ::kill(k, SIGTERM);
  EXPECT_EQ(WaitProcess(k), 0) << c.Logs();
  ASSERT_FALSE(handed_off_by.empty()) << c.Logs();
  json report = c.Report();
  EXPECT_GT(report["resizes"].value("deferred", 0), 0) << report.dump();
  json pod = PodsByApp(c, "crowded").begin()->second;
  EXPECT_GT(Mi(MemRequest(pod)), 1024) << "the spec asks for the wanted size";
  bool pending = false;
  for (const auto& cond : pod["status"].value("conditions", json::array())) {
    pending = pending || (cond.value("type", "") == "PodResizePending" && cond.value("reason", "") == "Deferred");
  }
  EXPECT_TRUE(pending) << pod["status"].dump();

  // The next rescheduling workflow receives the request and plans the pod at its wanted size.
  auto once = c.RunKinemaOnce({"--kind", "kinema-rescheduling", "--dry-run"});
  ASSERT_NE(once.exit_code, 2) << once.err;
  json list = c.Kinemactl({"list", "--type", "kinema-rescheduling"});
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump() << c.Logs();
  json show = c.Kinemactl({"show", list[0]["id"].get<std::string>()});
  json prediction = show["steps"][1]["result"];
  const std::string key = "resize/" + pod["metadata"]["name"].get<std::string>();
  ASSERT_TRUE(prediction.contains("podAdjustments")) << prediction.dump();
  EXPECT_EQ(prediction["podAdjustments"][key]["crowded"]["memory"], MemRequest(pod)) << prediction.dump();
  json explain = c.Kinemactl({"explain", list[0]["id"].get<std::string>()});
  // The planner sees the pod at its wanted size (the snapshot's spec already asks for it, the
  // podAdjustments make sure of it): a valid plan makes room — it moves the pod to a node where it
  // fits, or moves others off its node so the kubelet can actuate the Deferred resize.
  int room_made = 0;
  for (const auto& m : explain.value("moves", json::array())) {
    if (m.value("pod", "") == key) {
      EXPECT_NE(m.value("to", ""), node) << "planned where its wanted size fits";
      ++room_made;
    } else if (m.value("from", "") == node) {
      ++room_made;
    }
  }
  for (const auto& n : explain.value("nodes", json::array())) {
    if (n.value("name", "") == node && n.value("action", "") == "retire") ++room_made;
  }
  EXPECT_GT(room_made, 0) << "node " << node << ": " << explain.dump();
}

TEST(ResizeEndToEndTest, PrometheusSourceReadsCadvisorSeriesAndResizes) {
  E2eOptions o = ResizeOptions();
  o.prometheus = true;
  o.extra_config += "  source: prometheus\n  rateWindow: 5s\n";
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  if (!c.has_prometheus()) GTEST_SKIP() << "prometheus is not installed";
  std::this_thread::sleep_for(std::chrono::seconds(8));  // a few scrapes (1 s interval), two for rate()
  auto once = c.RunKinemaOnce({"--kind", "inplace-resize"});
  ASSERT_EQ(once.exit_code, 0) << once.err << c.Logs();
  json list = c.Kinemactl({"list", "--type", "inplace-resize"});
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump();
  json show = c.Kinemactl({"show", list[0]["id"].get<std::string>()});
  json observed = show["steps"][0]["result"];
  EXPECT_EQ(observed["source"], "prometheus");
  int with_usage = 0;
  for (const auto& p : observed["pods"]) {
    for (const auto& ct : p["containers"]) with_usage += ct.contains("memoryUsage") ? 1 : 0;
  }
  EXPECT_GE(with_usage, 5) << observed.dump();
  json e = c.Kinemactl({"explain", list[0]["id"].get<std::string>()});
  int applied = 0;
  for (const auto& r : e.value("resizes", json::array())) applied += r.value("outcome", "") == "applied";
  EXPECT_GT(applied, 0) << e.dump();
  for (const auto& [name, p] : PodsByApp(c, "leaky")) EXPECT_GT(Mi(MemRequest(p)), 256) << name;
}

TEST(ResizeEndToEndTest, PersistTemplateWritesTheOwnersPodTemplateThroughTheBudget) {
  E2eOptions o = ResizeOptions();
  o.extra_config = "resize:\n  enabled: true\n  selector: \"app=leaky\"\n  verifyTimeout: 10s\n  persist: template\n";
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  json before = c.KubectlJson({"get", "deployment", "-n", "resize", "leaky"});
  // A simulated minute: the leak passes 80 % of its request (it starts at 78 %).
  ASSERT_TRUE(WaitForSimTime(c, SimNowMs(c) + 60000, 30)) << c.Logs();
  auto once = c.RunKinemaOnce({"--kind", "inplace-resize"});
  ASSERT_EQ(once.exit_code, 0) << once.err << c.Logs();
  json list = c.Kinemactl({"list", "--type", "inplace-resize"});
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump();
  json e = c.Kinemactl({"explain", list[0]["id"].get<std::string>()});
  ASSERT_TRUE(e.contains("persisted")) << e.dump();
  ASSERT_EQ(e["persisted"].size(), 1u) << e.dump();
  EXPECT_EQ(e["persisted"][0]["workload"], "resize/Deployment/leaky");
  EXPECT_EQ(e["persisted"][0]["outcome"], "patched") << e.dump();
  // The template holds the largest new request of the two resized pods, and a rollout started.
  int64_t largest = 0;
  for (const auto& r : e["resizes"]) {
    if (r.value("outcome", "") == "applied") largest = std::max<int64_t>(largest, static_cast<int64_t>(Mi(r["to"].get<std::string>())));
  }
  json after = c.KubectlJson({"get", "deployment", "-n", "resize", "leaky"});
  const json& res = after["spec"]["template"]["spec"]["containers"][0]["resources"];
  EXPECT_EQ(res["requests"]["memory"], std::to_string(largest) + "Mi") << res.dump();
  EXPECT_NEAR(Mi(res["limits"]["memory"].get<std::string>()) / Mi(res["requests"]["memory"].get<std::string>()), 2.0, 0.01);
  EXPECT_GT(after["metadata"]["generation"].get<int64_t>(), before["metadata"]["generation"].get<int64_t>());
  // The rollout replaces the pods at the persisted size, without harm.
  bool rolled = false;
  for (int i = 0; i < 300 && !rolled; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto pods = PodsByApp(c, "leaky");
    rolled = pods.size() == 2;
    for (const auto& [name, p] : pods) {
      rolled = rolled && MemRequest(p) == res["requests"]["memory"].get<std::string>() &&
               p["status"].value("phase", "") == "Running";
    }
  }
  EXPECT_TRUE(rolled) << c.Logs();
  json report = c.Report();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
}

TEST(ResizeEndToEndTest, MissingUsageSourceEndsTheCycleWithNoUsageAndTouchesNothing) {
  E2eOptions o = ResizeOptions();  // no Prometheus started, none configured
  o.extra_config += "  source: prometheus\n";
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  auto once = c.RunKinemaOnce({"--kind", "inplace-resize"});
  EXPECT_EQ(once.exit_code, 0) << once.err;
  json list = c.Kinemactl({"list", "--type", "inplace-resize"});
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump();
  EXPECT_EQ(list[0]["status"], "completed");
  EXPECT_EQ(list[0]["outcome"], "no_usage") << list.dump();
  for (const auto& [name, p] : PodsByApp(c, "guaranteed")) EXPECT_EQ(MemRequest(p), "512Mi") << name;
}

// One rescheduling workflow in dry-run with prediction.source `source`; its
// prediction step's result.
json PredictWith(const E2eCluster& c, const std::string& source) {
  std::string text = testing::ReadFile(c.config());
  const size_t at = text.find("prediction:\n");
  if (at == std::string::npos) return nullptr;
  text.insert(at + std::string("prediction:\n").size(), "  source: " + source + "\n");
  const std::string config = c.File("kinema-" + source + ".yaml");
  std::ofstream(config) << text;
  auto r = testing::RunProcess({testing::BinPath("kinema"), "--config", config, "--once", "--dry-run", "--kind",
                                "kinema-rescheduling"});
  if (r.exit_code == 2) return nullptr;
  json list = c.Kinemactl({"list", "--type", "kinema-rescheduling"});
  if (!list.is_array() || list.empty()) return nullptr;
  std::string newest;
  for (const auto& w : list) newest = std::max(newest, w["id"].get<std::string>());
  json show = c.Kinemactl({"show", newest});
  return show["steps"][1]["result"];
}

int64_t MemBytes(const std::string& q) { return static_cast<int64_t>(Bytes(q)); }

TEST(VpaPredictionEndToEndTest, PlannedRequestsFollowRecommendationsAndMaxTakesTheLarger) {
  E2eOptions o;
  o.nodes = 6;
  o.scale = 1;
  o.time_scale = 20;
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  if (!c.has_prometheus()) GTEST_SKIP() << "prometheus is not installed";
  json deploy = c.KubectlJson({"get", "deployment", "-n", "shop", "cart"});
  ASSERT_TRUE(deploy.is_object()) << c.Logs();
  const std::string container = deploy["spec"]["template"]["spec"]["containers"][0]["name"];
  std::ofstream(c.File("vpa.yaml")) << "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\n"
                                       "metadata:\n  name: cart\n  namespace: shop\nspec:\n  targetRef:\n"
                                       "    apiVersion: apps/v1\n    kind: Deployment\n    name: cart\n"
                                       "  updatePolicy:\n    updateMode: \"Off\"\n";
  auto applied = c.Kubectl({"apply", "-f", c.File("vpa.yaml")});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  json vpa;
  for (int i = 0; i < 300; ++i) {
    vpa = c.KubectlJson({"get", "vpa", "-n", "shop", "cart"});
    if (vpa.is_object() && vpa.contains("status") && vpa["status"].contains("recommendation")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(vpa["status"].contains("recommendation")) << vpa.dump();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // Prometheus scrapes for the max run

  const std::string key = "shop/Deployment/cart";
  json v = PredictWith(c, "vpa");
  ASSERT_TRUE(v.is_object()) << c.Logs();
  EXPECT_EQ(v["source"], "vpa");
  // The recommendation at the time of the run is journaled beside the planned request it became.
  json rec;
  for (const auto& r : v["vpa"]["recommendations"]) {
    if (r["workload"] == key && r["container"] == container) rec = r;
  }
  ASSERT_TRUE(rec.is_object()) << v.dump();
  EXPECT_TRUE(rec["upperBound"].contains("memory")) << rec.dump();
  EXPECT_EQ(v["adjustments"][key][container]["memory"], rec["target"]["memory"]);
  EXPECT_EQ(v["adjustments"][key][container]["cpu"], rec["target"]["cpu"]);
  EXPECT_EQ(v["adjustments"].size(), 1u) << "only the workload with a VPA is adjusted";

  json m = PredictWith(c, "max");
  ASSERT_TRUE(m.is_object()) << c.Logs();
  EXPECT_EQ(m["source"], "max");
  json mrec, prom;
  for (const auto& r : m["vpa"]["recommendations"]) {
    if (r["workload"] == key && r["container"] == container) mrec = r;
  }
  for (const auto& w : m.value("workloads", json::array())) {
    if (w.value("namespace", "") + "/" + w.value("kind", "") + "/" + w.value("name", "") != key) continue;
    for (const auto& ct : w["containers"]) {
      if (ct["name"] == container) prom = ct;
    }
  }
  ASSERT_TRUE(mrec.is_object() && prom.is_object()) << m.dump().substr(0, 3000);
  const int64_t want = std::max(MemBytes(prom["plannedMemory"].get<std::string>()),
                                MemBytes(mrec["target"]["memory"].get<std::string>()));
  EXPECT_EQ(MemBytes(m["adjustments"][key][container]["memory"].get<std::string>()), want) << m["adjustments"][key].dump();
  EXPECT_GT(m["adjustments"].size(), 1u) << "Prometheus' predictions for the other workloads stay";
}

}  // namespace
}  // namespace kinema::e2e
