// kinema-sim support for the workflow modes, through the real binary and
// real clients (kubectl 1.32, curl): custom resources (VPA, VirtualMachine),
// the VPA recommender, in-place resize and OOM accounting, the VM evacuation
// flow. Clusters come from tools/scenarios/make_scenario.py's mode options.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "tests/sim/sim_process.h"

namespace kinema::simtest {
namespace {

using Json = nlohmann::json;

struct Cluster {
  std::string dir;
  std::unique_ptr<SimProcess> sim;
};

// make_scenario.py OPTIONS into a fresh directory, then kinema-sim on it.
Cluster Start(const std::string& name, const std::string& options, const std::string& time_scale,
              const Json& scenario_extra = Json::object()) {
  Cluster c;
  c.dir = testing::TempDir() + "/" + name;
  auto gen = RunCommand("rm -rf " + c.dir + " && python3 " + SourceDir() + "/tools/scenarios/make_scenario.py --out " +
                        c.dir + " " + options);
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  Json scenario = Json::object();
  std::ifstream in(c.dir + "/scenario.json");
  if (in) in >> scenario;
  for (auto it = scenario_extra.begin(); it != scenario_extra.end(); ++it) scenario[it.key()] = it.value();
  std::ofstream(c.dir + "/scenario-final.json") << scenario.dump();
  c.sim = std::make_unique<SimProcess>(std::vector<std::string>{
      "--snapshot", c.dir + "/snapshot.json", "--catalog", c.dir + "/catalog.json", "--scenario",
      c.dir + "/scenario-final.json", "--time-scale", time_scale, "--seed", "3"});
  return c;
}

Json Get(const SimProcess& sim, const std::string& what) {
  auto r = RunCommand(sim.Kubectl() + " get " + what + " -o json");
  if (r.exit_code != 0) return Json();
  try {
    return Json::parse(r.out);
  } catch (...) {
    return Json();
  }
}

Json Report(const SimProcess& sim) {
  auto r = RunCommand(sim.Curl(false) + " " + sim.Url() + "/sim/v1/report");
  try {
    return Json::parse(r.out);
  } catch (...) {
    return Json();
  }
}

bool WaitFor(const std::function<bool()>& pred, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return pred();
}

std::string Apply(const SimProcess& sim, const std::string& dir, const Json& obj) {
  std::string file = dir + "/apply-" + obj["metadata"].value("name", "x") + ".json";
  std::ofstream(file) << obj.dump();
  auto r = RunCommand(sim.Kubectl() + " apply -f " + file);
  return r.exit_code == 0 ? "" : r.err + r.out;
}

double Cores(const std::string& q) {
  if (!q.empty() && q.back() == 'm') return std::stod(q.substr(0, q.size() - 1)) / 1000;
  if (!q.empty() && q.back() == 'n') return std::stod(q.substr(0, q.size() - 1)) / 1e9;
  return std::stod(q);
}

Json Vpa(const std::string& name, const std::string& target, const Json& policy = Json()) {
  Json v = {{"apiVersion", "autoscaling.k8s.io/v1"},
            {"kind", "VerticalPodAutoscaler"},
            {"metadata", {{"name", name}, {"namespace", "shop"}}},
            {"spec",
             {{"targetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", target}}},
              {"updatePolicy", {{"updateMode", "Off"}}}}}};
  if (!policy.is_null()) v["spec"]["resourcePolicy"] = policy;
  return v;
}

TEST(CustomResourcesThroughKubectl, VpaAndVmAreServedLikeCrds) {
  Cluster c = Start("crs", "--nodes 3 --scale 1 --vms 2", "20");
  ASSERT_TRUE(c.sim->ok()) << c.sim->Log();
  const SimProcess& sim = *c.sim;
  // Discovery: short names, the status subresource.
  auto res = RunCommand(sim.Kubectl() + " api-resources --api-group=simulation.node-classifier.io");
  EXPECT_NE(res.out.find("virtualmachines"), std::string::npos) << res.err;
  EXPECT_NE(res.out.find("vm,vms"), std::string::npos) << res.out;
  res = RunCommand(sim.Kubectl() + " api-resources --api-group=autoscaling.k8s.io");
  EXPECT_NE(res.out.find("verticalpodautoscalers"), std::string::npos) << res.err;
  auto crds = RunCommand(sim.Kubectl() + " get crd");
  EXPECT_NE(crds.out.find("verticalpodautoscalers.autoscaling.k8s.io"), std::string::npos) << crds.out << crds.err;
  EXPECT_NE(crds.out.find("virtualmachines.simulation.node-classifier.io"), std::string::npos) << crds.out;
  // OpenAPI v3 publishes the schemas: kubectl explain works.
  auto explain = RunCommand(sim.Kubectl() + " explain vm.spec.resources");
  EXPECT_NE(explain.out.find("memory"), std::string::npos) << explain.out << explain.err;
  // Snapshot VMs loaded through the facility; printer columns.
  auto vms = RunCommand(sim.Kubectl() + " get vm");
  EXPECT_EQ(vms.exit_code, 0) << vms.err;
  EXPECT_NE(vms.out.find("PHASE"), std::string::npos) << vms.out;
  EXPECT_NE(vms.out.find("EVACUATION"), std::string::npos) << vms.out;
  EXPECT_NE(vms.out.find("vm-001"), std::string::npos) << vms.out;
  // Create through kubectl apply (merge patch on re-apply), defaults from the schema.
  EXPECT_EQ(Apply(sim, c.dir, Vpa("web", "frontend")), "");
  Json vpa = Get(sim, "vpa web -n shop");
  ASSERT_TRUE(vpa.contains("spec")) << vpa.dump();
  EXPECT_EQ(vpa["metadata"].value("generation", 0), 1);
  Json changed = Vpa("web", "frontend");
  changed["spec"]["updatePolicy"]["updateMode"] = "InPlaceOrRecreate";
  EXPECT_EQ(Apply(sim, c.dir, changed), "");
  EXPECT_EQ(Get(sim, "vpa web -n shop")["metadata"].value("generation", 0), 2);
  auto table = RunCommand(sim.Kubectl() + " get vpa -n shop");
  EXPECT_NE(table.out.find("MODE"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("InPlaceOrRecreate"), std::string::npos) << table.out;
  // Validation from the schema: 422 naming the field.
  Json bad = Vpa("bad", "frontend");
  bad["spec"]["updatePolicy"]["updateMode"] = "Sometimes";
  std::string err = Apply(sim, c.dir, bad);
  EXPECT_NE(err.find("spec.updatePolicy.updateMode: Unsupported value: \"Sometimes\""), std::string::npos) << err;
  // Status subresource: a main-resource patch cannot write status, /status can.
  auto p = RunCommand(sim.Kubectl() + " patch vm vm-000 --type merge -p '{\"status\":{\"phase\":\"Failed\"}}'");
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(Get(sim, "vm vm-000")["status"].value("phase", ""), "Failed");
  p = RunCommand(sim.Kubectl() +
                 " patch vm vm-000 --subresource status --type merge -p '{\"status\":{\"allocatedCpu\":\"x\"}}'");
  EXPECT_EQ(p.exit_code, 0) << p.err;
  // Strategic merge patch is refused for custom resources, as by the apiserver.
  p = RunCommand(sim.Kubectl() + " patch vm vm-000 --type strategic -p '{\"spec\":{\"running\":true}}'");
  EXPECT_NE(p.exit_code, 0);
  // Watch through the facility.
  auto w = RunCommand(sim.Curl() + " '" + sim.Url() +
                      "/apis/simulation.node-classifier.io/v1alpha1/namespaces/default/virtualmachines?watch=1&timeoutSeconds=1'");
  EXPECT_NE(w.out.find("\"type\":\"ADDED\""), std::string::npos) << w.out.substr(0, 300);
}

TEST(VpaRecommender, RecommendsP90WithMarginAndRespectsMaxAllowed) {
  Json usage = {{"deployments",
                 {{"shop/frontend", {{"cpu", {{"level", "400m"}, {"noise", 0}}}, {"memory", {{"level", "300Mi"}, {"noise", 0}}}}},
                  {"shop/cart", {{"cpu", {{"level", "500m"}, {"noise", 0}}}}}}}};
  Cluster c = Start("vpa", "--nodes 3 --scale 1", "30", {{"usage", usage}, {"vpa", {{"recommenderInterval", "30s"}}}});
  ASSERT_TRUE(c.sim->ok()) << c.sim->Log();
  const SimProcess& sim = *c.sim;
  ASSERT_EQ(Apply(sim, c.dir, Vpa("frontend", "frontend")), "");
  ASSERT_EQ(Apply(sim, c.dir,
                  Vpa("cart", "cart",
                      {{"containerPolicies", Json::array({{{"containerName", "*"}, {"maxAllowed", {{"cpu", "100m"}}}}})}})),
            "");
  ASSERT_EQ(Apply(sim, c.dir, Vpa("nothing", "no-such-deployment")), "");
  Json fe;
  ASSERT_TRUE(WaitFor([&] {
    fe = Get(sim, "vpa frontend -n shop");
    return fe.contains("status") && fe["status"].contains("recommendation");
  }, 30)) << fe.dump() << sim.Log();
  Json rec = fe["status"]["recommendation"]["containerRecommendations"][0];
  EXPECT_EQ(rec.value("containerName", ""), "frontend");
  double cpu = Cores(rec["target"].value("cpu", "0"));
  EXPECT_GE(cpu, 0.4 * 1.15 - 0.001) << rec.dump();
  // Histogram buckets are 5 % wider than the previous one: 7-8 % of the value at these sizes.
  EXPECT_LE(cpu, 0.4 * 1.10 * 1.15 + 0.001) << rec.dump();
  double mem = std::stod(rec["target"].value("memory", "0"));
  EXPECT_GE(mem, 300.0 * 1048576 * 1.15) << rec.dump();
  EXPECT_LE(mem, 300.0 * 1048576 * 1.10 * 1.15) << rec.dump();
  EXPECT_GE(Cores(rec["upperBound"]["cpu"]), cpu);
  EXPECT_LE(Cores(rec["lowerBound"]["cpu"]), cpu);
  bool provided = false;
  for (const auto& cond : fe["status"]["conditions"]) {
    provided = provided || (cond["type"] == "RecommendationProvided" && cond["status"] == "True");
  }
  EXPECT_TRUE(provided);
  Json cart;
  ASSERT_TRUE(WaitFor([&] {
    cart = Get(sim, "vpa cart -n shop");
    return cart.contains("status") && cart["status"].contains("recommendation");
  }, 20));
  Json crec = cart["status"]["recommendation"]["containerRecommendations"][0];
  EXPECT_EQ(crec["target"].value("cpu", ""), "100m") << crec.dump();
  EXPECT_GT(Cores(crec["uncappedTarget"]["cpu"]), 0.5) << crec.dump();
  Json none = Get(sim, "vpa nothing -n shop");
  bool no_pods = false;
  for (const auto& cond : none["status"].value("conditions", Json::array())) {
    no_pods = no_pods || (cond["type"] == "NoPodsMatched" && cond["status"] == "True");
  }
  EXPECT_TRUE(no_pods) << none.dump();
  auto table = RunCommand(sim.Kubectl() + " get vpa frontend -n shop");
  EXPECT_NE(table.out.find("PROVIDED"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("True"), std::string::npos) << table.out;
}

Json PodsOf(const SimProcess& sim, const std::string& ns, const std::string& selector) {
  return Get(sim, "pods -n " + ns + " -l " + selector);
}

TEST(ResizeAndOom, KubeletOutcomesAndOomKillsAreCounted) {
  Cluster c = Start("resize", "--nodes 3 --scale 1 --resize", "60");
  ASSERT_TRUE(c.sim->ok()) << c.sim->Log();
  const SimProcess& sim = *c.sim;
  auto first_pod = [&](const std::string& app) {
    Json pods = PodsOf(sim, "resize", "app=" + app);
    return pods.contains("items") && !pods["items"].empty() ? pods["items"][0] : Json();
  };
  Json idle;
  ASSERT_TRUE(WaitFor([&] {
    idle = first_pod("idle");
    return idle.is_object() && idle["status"].value("phase", "") == "Running" &&
           idle["status"].contains("containerStatuses");
  }, 20));
  const std::string idle_name = idle["metadata"]["name"];
  auto usage_mib = [&](const std::string& pod) {
    auto r = RunCommand(sim.Kubectl() + " get --raw /apis/metrics.k8s.io/v1beta1/namespaces/resize/pods/" + pod);
    Json m = Json::parse(r.out, nullptr, false);
    if (!m.is_object() || !m.contains("containers")) return -1.0;
    std::string q = m["containers"][0]["usage"].value("memory", "0Ki");
    return std::stod(q.substr(0, q.size() - 2)) / 1024;
  };
  double before = usage_mib(idle_name);
  ASSERT_GT(before, 0);
  // Accepted: shrink the idle pod's memory request (limit kept).
  auto r = RunCommand(sim.Kubectl() + " patch pod " + idle_name +
                      " -n resize --subresource resize -p '{\"spec\":{\"containers\":[{\"name\":\"idle\",\"resources\":"
                      "{\"requests\":{\"memory\":\"512Mi\"}}}]}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] {
    idle = Get(sim, "pod " + idle_name + " -n resize");
    return idle["status"].value("observedGeneration", 0) == idle["metadata"].value("generation", -1) &&
           idle["status"]["containerStatuses"][0]["resources"]["requests"].value("memory", "") == "512Mi";
  }, 20)) << idle.dump();
  for (const auto& cond : idle["status"]["conditions"]) {
    EXPECT_NE(cond.value("type", ""), "PodResizeInProgress");
    EXPECT_NE(cond.value("type", ""), "PodResizePending");
  }
  EXPECT_EQ(idle["status"]["containerStatuses"][0]["allocatedResources"].value("memory", ""), "512Mi");
  // The application's usage did not follow the request (a level profile; and fractions are anchored).
  double after = usage_mib(idle_name);
  EXPECT_NEAR(after, before, before * 0.1);
  // Infeasible: more CPU than any node has.
  r = RunCommand(sim.Kubectl() + " patch pod " + idle_name +
                 " -n resize --subresource resize -p '{\"spec\":{\"containers\":[{\"name\":\"idle\",\"resources\":"
                 "{\"requests\":{\"cpu\":\"100\"}}}]}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string message;
  ASSERT_TRUE(WaitFor([&] {
    idle = Get(sim, "pod " + idle_name + " -n resize");
    for (const auto& cond : idle["status"].value("conditions", Json::array())) {
      if (cond.value("type", "") == "PodResizePending" && cond.value("reason", "") == "Infeasible") {
        message = cond.value("message", "");
        return cond.value("observedGeneration", 0) == idle["metadata"].value("generation", -1);
      }
    }
    return false;
  }, 20)) << idle.dump();
  EXPECT_EQ(message.rfind("Node didn't have enough capacity: cpu, requested: 100000, capacity: ", 0), 0u) << message;
  // Deferred: the crowded pod's node has no room to grow.
  Json crowded = first_pod("crowded");
  ASSERT_TRUE(crowded.is_object());
  r = RunCommand(sim.Kubectl() + " patch pod " + crowded["metadata"].value("name", "") +
                 " -n resize --subresource resize -p '{\"spec\":{\"containers\":[{\"name\":\"crowded\",\"resources\":"
                 "{\"requests\":{\"memory\":\"6Gi\"},\"limits\":{\"memory\":\"6Gi\"}}}]}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // RestartContainer: a memory change restarts the container.
  Json restarter = first_pod("restarter");
  ASSERT_TRUE(restarter.is_object());
  const std::string rname = restarter["metadata"]["name"];
  r = RunCommand(sim.Kubectl() + " patch pod " + rname +
                 " -n resize --subresource resize -p '{\"spec\":{\"containers\":[{\"name\":\"restarter\",\"resources\":"
                 "{\"requests\":{\"memory\":\"768Mi\"}}}]}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] {
    restarter = Get(sim, "pod " + rname + " -n resize");
    return restarter["status"]["containerStatuses"][0].value("restartCount", 0) == 1;
  }, 20)) << restarter.dump();
  // 1.35: lowering a memory limit below the current usage is not actuated (Guaranteed: 460Mi used).
  Json guaranteed = first_pod("guaranteed");
  ASSERT_TRUE(guaranteed.is_object());
  const std::string gname = guaranteed["metadata"]["name"];
  r = RunCommand(sim.Kubectl() + " patch pod " + gname +
                 " -n resize --subresource resize -p '{\"spec\":{\"containers\":[{\"name\":\"guaranteed\",\"resources\":"
                 "{\"requests\":{\"memory\":\"256Mi\"},\"limits\":{\"memory\":\"256Mi\"}}}]}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string error;
  ASSERT_TRUE(WaitFor([&] {
    guaranteed = Get(sim, "pod " + gname + " -n resize");
    for (const auto& cond : guaranteed["status"].value("conditions", Json::array())) {
      if (cond.value("type", "") == "PodResizeInProgress" && cond.value("reason", "") == "Error") {
        error = cond.value("message", "");
        return true;
      }
    }
    return false;
  }, 20)) << guaranteed.dump();
  EXPECT_EQ(error.rfind("cannot decrease memory limits: [attempting to set pod memory limit (268435456) below current usage (", 0),
            0u) << error;
  EXPECT_NE(error.find("attempting to set container \"guaranteed\" memory limit (268435456)"), std::string::npos) << error;
  EXPECT_EQ(guaranteed["status"]["containerStatuses"][0]["resources"]["limits"].value("memory", ""), "512Mi")
      << "not actuated";
  // The leak reaches its 512Mi limit after ~10 simulated minutes (10 s here): OOM kills.
  Json report;
  ASSERT_TRUE(WaitFor([&] {
    report = Report(sim);
    return report.value("oomKills", 0) >= 1 && report["resizes"].value("deferred", 0) >= 1;
  }, 40)) << report.dump();
  EXPECT_EQ(report["resizes"].value("infeasible", 0), 1) << report.dump();
  EXPECT_EQ(report["resizes"].value("accepted", 0), 3) << report.dump();  // idle, restarter, guaranteed (admitted)
  Json leaky = first_pod("leaky");
  EXPECT_EQ(leaky["status"]["containerStatuses"][0]["lastState"]["terminated"].value("reason", ""), "OOMKilled");
}

TEST(VmEvacuation, EvictingALauncherPodLiveMigratesTheVm) {
  Cluster c = Start("vms", "--nodes 3 --scale 1 --vms 3", "30");
  ASSERT_TRUE(c.sim->ok()) << c.sim->Log();
  const SimProcess& sim = *c.sim;
  Json vm;
  ASSERT_TRUE(WaitFor([&] {
    vm = Get(sim, "vm vm-000 -n default");
    return vm.contains("status") && vm["status"].value("phase", "") == "Running" &&
           vm["status"].contains("conditions");
  }, 20)) << vm.dump();
  const std::string source_node = vm["status"]["nodeName"];
  const std::string source_pod = vm["status"]["podName"];
  auto node_cpu = [&](const std::string& node) {
    auto r = RunCommand(sim.Kubectl() + " get --raw /apis/metrics.k8s.io/v1beta1/nodes/" + node);
    Json m = Json::parse(r.out, nullptr, false);
    return m.is_object() && m.contains("usage") ? Cores(m["usage"].value("cpu", "0")) : -1.0;
  };
  double source_before = node_cpu(source_node);
  // The eviction is answered 429 with KubeVirt's text; the VM is marked for evacuation.
  std::string url = sim.Url() + "/api/v1/namespaces/default/pods/" + source_pod + "/eviction";
  auto e = RunCommand(sim.Curl() + " -o " + c.dir + "/evict.json -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '" +
                      Json{{"apiVersion", "policy/v1"}, {"kind", "Eviction"},
                           {"metadata", {{"name", source_pod}, {"namespace", "default"}}}}.dump() + "' " + url);
  EXPECT_EQ(e.out, "429");
  Json body = Json::parse(RunCommand("cat " + c.dir + "/evict.json").out, nullptr, false);
  EXPECT_NE(body.value("message", "").find("Eviction triggered evacuation of VMI \"default/vm-000\""), std::string::npos)
      << body.dump();
  // kubectl shows the same answer.
  auto again = RunCommand(sim.Kubectl() + " get vm vm-000 -o jsonpath='{.status.evacuationNodeName}'");
  EXPECT_TRUE(again.out == source_node || again.out.empty() || again.out == "null") << again.out;
  // The migration completes: one launcher pod, Running on another node; the source pod is gone.
  ASSERT_TRUE(WaitFor([&] {
    vm = Get(sim, "vm vm-000 -n default");
    Json pods = PodsOf(sim, "default", "vm.kubevirt.io/name=vm-000");
    return vm["status"].value("nodeName", "") != source_node && vm["status"]["evacuationNodeName"].is_null() &&
           pods["items"].size() == 1 && pods["items"][0]["status"].value("phase", "") == "Running";
  }, 40)) << vm.dump() << sim.Log();
  Json pods = PodsOf(sim, "default", "vm.kubevirt.io/name=vm-000");
  EXPECT_NE(pods["items"][0]["metadata"].value("name", ""), source_pod);
  EXPECT_EQ(pods["items"][0]["spec"].value("nodeName", ""), vm["status"].value("nodeName", ""));
  EXPECT_EQ(vm["status"].value("podName", ""), pods["items"][0]["metadata"].value("name", ""));
  // The VM's usage moved with it (vm-000: 2 cores at 30 %).
  double source_after = node_cpu(source_node);
  EXPECT_LT(source_after, source_before - 0.4) << source_before << " -> " << source_after;
  Json report = Report(sim);
  EXPECT_EQ(report["evictions"].value("inBackground", 0), 1) << report.dump();
  EXPECT_EQ(report["vms"].value("migrations", 0), 1) << report.dump();
  EXPECT_EQ(report["vms"].value("downtimeSeconds", -1.0), 0.0) << report.dump();
  EXPECT_EQ(report["evictions"].value("accepted", -1), 0) << report.dump();
  // Evicting the VM's new pod while nothing is marked starts a new evacuation; a non-launcher pod is
  // evicted normally (the webhook lets it through).
  Json shop = Get(sim, "pods -n shop -l app=email");
  ASSERT_FALSE(shop["items"].empty());
  std::string shop_pod = shop["items"][0]["metadata"]["name"];
  auto ok = RunCommand(sim.Curl() + " -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '" +
                       Json{{"apiVersion", "policy/v1"}, {"kind", "Eviction"},
                            {"metadata", {{"name", shop_pod}, {"namespace", "shop"}}}}.dump() + "' " + sim.Url() +
                       "/api/v1/namespaces/shop/pods/" + shop_pod + "/eviction");
  EXPECT_EQ(ok.out, "201");
}

bool Tolerates(const Json& pod, const std::string& key) {
  for (const auto& t : pod["spec"].value("tolerations", Json::array())) {
    if (t.value("operator", "") == "Exists" && !t.contains("key")) return true;
    if (t.value("key", "") == key) return true;
  }
  return false;
}

TEST(ModeScenarios, MixedSpotClusterKeepsIntolerantPodsOffSpotAndPreempts) {
  Cluster c = Start("spot", "--nodes 6 --scale 1 --spot-nodes 2 --spot-tolerant 0.5 --spot-preemption 1m", "30");
  ASSERT_TRUE(c.sim->ok()) << c.sim->Log();
  const SimProcess& sim = *c.sim;
  Json nodes = Get(sim, "nodes");
  std::set<std::string> spot;
  for (const auto& n : nodes["items"]) {
    if (n["metadata"]["labels"].value("cloud.google.com/gke-spot", "") == "true") {
      spot.insert(n["metadata"]["name"].get<std::string>());
      EXPECT_EQ(n["metadata"]["labels"].value("kinema.io/capacity-type", ""), "spot");
      ASSERT_TRUE(n["spec"].contains("taints"));
      EXPECT_EQ(n["spec"]["taints"][0].value("key", ""), "kinema.io/spot");
    }
  }
  ASSERT_EQ(spot.size(), 2u);
  int tolerant_on_demand = 0;
  Json pods = Get(sim, "pods -n shop");
  for (const auto& p : pods["items"]) {
    bool on_spot = spot.count(p["spec"].value("nodeName", "")) > 0;
    bool tolerant = Tolerates(p, "kinema.io/spot");
    if (on_spot) {
      EXPECT_TRUE(tolerant) << p["metadata"]["name"];
    }
    if (tolerant && !on_spot) ++tolerant_on_demand;
  }
  EXPECT_GT(tolerant_on_demand, 0) << "spot-tolerant pods sitting on on-demand nodes";
  // The spot nodes are priced as spot (30 % of on-demand in the generated catalog).
  Json report = Report(sim);
  EXPECT_NEAR(report.value("nodesCostPerHour", 0.0), 4 * 0.268024 + 2 * 0.268024 * 0.3, 1e-4) << report.dump();
  // The preemption event at 1 minute takes one spot instance away.
  ASSERT_TRUE(WaitFor([&] {
    report = Report(sim);
    return report["cloud"].value("instancesPreempted", 0) == 1;
  }, 20)) << report.dump();
}

TEST(ModeScenarios, HotNodesHaveNormalRequestsButHighUsage) {
  Cluster c = Start("hot", "--nodes 5 --scale 2 --hot-nodes 1", "20");
  ASSERT_TRUE(c.sim->ok()) << c.sim->Log();
  const SimProcess& sim = *c.sim;
  std::map<std::string, double> requested, used;
  Json pods = Get(sim, "pods -A");
  for (const auto& p : pods["items"]) {
    for (const auto& ctr : p["spec"]["containers"]) {
      requested[p["spec"].value("nodeName", "")] +=
          Cores(ctr["resources"].value("requests", Json::object()).value("cpu", "0"));
    }
  }
  for (const auto& [node, req] : requested) {
    auto r = RunCommand(sim.Kubectl() + " get --raw /apis/metrics.k8s.io/v1beta1/nodes/" + node);
    Json m = Json::parse(r.out, nullptr, false);
    used[node] = Cores(m["usage"].value("cpu", "0"));
  }
  const std::string hot = "gke-shop-pool-00";
  double max_other_req = 0, max_other_used = 0;
  for (const auto& [node, req] : requested) {
    if (node == hot) continue;
    max_other_req = std::max(max_other_req, req);
    max_other_used = std::max(max_other_used, used[node]);
  }
  EXPECT_LE(requested[hot], max_other_req * 1.2) << "requests on the hot node look normal";
  EXPECT_GT(used[hot], max_other_used * 1.5) << "but its usage is far higher";
}

}  // namespace
}  // namespace kinema::simtest
