// Conformance: the real kubectl 1.32 and python3-kubernetes against a running
// kinema-sim (started per test on a free port with tests/sim/data/).
// Most tests run over HTTPS with the generated CA and bearer token, as a
// client would against a real cluster.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/sim/sim_process.h"

namespace kinema::simtest {
namespace {

using nlohmann::json;

class SimConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    // The API server alone: these tests pin API semantics, with no
    // controller replacing evicted pods or scheduler binding pending ones.
    sim_ = std::make_unique<SimProcess>(std::vector<std::string>{"--tls", "--api-only"});
    ASSERT_TRUE(sim_->ok()) << "kinema-sim did not start";
  }
  CommandResult Kubectl(const std::string& args) { return RunCommand(sim_->Kubectl() + " " + args); }
  json KubectlJson(const std::string& args) {
    auto r = Kubectl(args + " -o json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out.empty() ? "{}" : r.out);
  }
  json Report() {
    auto r = RunCommand(sim_->Curl(false) + " " + sim_->Url() + "/sim/v1/report");
    return json::parse(r.out);
  }
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(SimConformance, GetNodesShowsSnapshotNodesReady) {
  auto r = Kubectl("get nodes");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("node-a"), std::string::npos);
  EXPECT_NE(r.out.find("node-c"), std::string::npos);
  EXPECT_NE(r.out.find("Ready"), std::string::npos);
  EXPECT_NE(r.out.find("v1.32.0"), std::string::npos);
}

TEST_F(SimConformance, GetPodsAllNamespacesHonoursLabelAndFieldSelectors) {
  auto r = Kubectl("get pods -A -l app=web --field-selector spec.nodeName=node-a -o name");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "pod/web-5d4f8-0\npod/web-5d4f8-1\n");
  r = Kubectl("get pods -A --field-selector status.phase=Pending -o name");
  EXPECT_EQ(r.out, "pod/batch-pending\n");
  r = Kubectl("get pods -A -l 'app in (cache,batch),tier!=frontend' -o name");
  EXPECT_EQ(r.out, "pod/batch-pending\npod/cache-0\n");
  r = Kubectl("get pods -A --field-selector spec.bogus=1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("field label not supported"), std::string::npos) << r.err;
}

TEST_F(SimConformance, GetOutputJsonListsObjects) {
  json pods = KubectlJson("get pods -A");
  EXPECT_EQ(pods["kind"], "List");
  EXPECT_EQ(pods["items"].size(), 8u);
  json all = KubectlJson("get nodes,deployments,replicasets,daemonsets,pdb,hpa -A");
  EXPECT_EQ(all["items"].size(), 3u + 5u);
  json node = KubectlJson("get node node-b");
  EXPECT_FALSE(node["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(node["metadata"]["resourceVersion"].get<std::string>().empty());
}

TEST_F(SimConformance, GetWatchReceivesChanges) {
  std::string out = sim_->dir() + "/watch.out";
  RunCommand("(timeout 8 " + sim_->Kubectl() + " get pods -n shop -w --output-watch-events > " + out +
             " 2>&1 &)");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(Kubectl("label pod -n shop cache-0 watched=yes").exit_code, 0);
  ASSERT_EQ(Kubectl("delete pod -n shop batch-pending").exit_code, 0);
  std::string text;
  for (int i = 0; i < 60; ++i) {
    std::ifstream in(out);
    text.assign(std::istreambuf_iterator<char>(in), {});
    if (text.find("DELETED") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(text.find("ADDED"), std::string::npos) << text;
  EXPECT_NE(text.find("MODIFIED"), std::string::npos) << text;
  EXPECT_NE(text.find("DELETED"), std::string::npos) << text;
}

TEST_F(SimConformance, LabelAndAnnotateUpdateMetadataAndResourceVersion) {
  json before = KubectlJson("get node node-a");
  ASSERT_EQ(Kubectl("label node node-a kinema.io/pool=blue").exit_code, 0);
  ASSERT_EQ(Kubectl("annotate pod -n shop cache-0 kinema.io/note=hello").exit_code, 0);
  json after = KubectlJson("get node node-a");
  EXPECT_EQ(after["metadata"]["labels"]["kinema.io/pool"], "blue");
  EXPECT_GT(std::stoull(after["metadata"]["resourceVersion"].get<std::string>()),
            std::stoull(before["metadata"]["resourceVersion"].get<std::string>()));
  EXPECT_EQ(KubectlJson("get pod -n shop cache-0")["metadata"]["annotations"]["kinema.io/note"], "hello");
  ASSERT_EQ(Kubectl("label node node-a kinema.io/pool-").exit_code, 0);
  EXPECT_FALSE(KubectlJson("get node node-a")["metadata"]["labels"].contains("kinema.io/pool"));
}

TEST_F(SimConformance, PatchMergeJsonAndStrategic) {
  auto r = Kubectl(R"(patch -n shop deploy web --type=merge -p '{"spec":{"replicas":4}}')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl(R"(patch -n shop deploy web --type=json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"}]')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Strategic: env merges by name into the container named "app"; tolerations (atomic) are replaced whole.
  r = Kubectl(R"(patch -n shop pod cache-0 --type=strategic -p '{"spec":{"tolerations":[{"key":"only","operator":"Exists"}]}}')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl(R"(patch -n shop deploy web --type=strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"}]}],"tolerations":[{"key":"t","operator":"Exists"}]}}}}')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl(R"(patch -n shop deploy web --type=strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"2"}]}],"tolerations":[{"key":"u","operator":"Exists"}]}}}}')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json d = KubectlJson("get deploy -n shop web");
  EXPECT_EQ(d["spec"]["replicas"], 4);
  const json& c = d["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["image"], "nginx:1.28");
  EXPECT_EQ(c[0]["env"], json::parse(R"([{"name":"A","value":"1"},{"name":"B","value":"2"}])"));
  EXPECT_EQ(d["spec"]["template"]["spec"]["tolerations"], json::parse(R"([{"key":"u","operator":"Exists"}])"));
  EXPECT_EQ(d["metadata"]["generation"], 5);
  json p = KubectlJson("get pod -n shop cache-0");
  EXPECT_EQ(p["spec"]["tolerations"], json::parse(R"([{"key":"only","operator":"Exists"}])"));
  // A JSON patch whose test fails is refused and changes nothing.
  r = Kubectl(R"(patch -n shop deploy web --type=json -p '[{"op":"test","path":"/spec/replicas","value":9}]')");
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(SimConformance, CordonAndUncordon) {
  ASSERT_EQ(Kubectl("cordon node-b").exit_code, 0);
  EXPECT_EQ(KubectlJson("get node node-b")["spec"]["unschedulable"], true);
  EXPECT_NE(Kubectl("get nodes").out.find("SchedulingDisabled"), std::string::npos);
  ASSERT_EQ(Kubectl("uncordon node-b").exit_code, 0);
  EXPECT_FALSE(KubectlJson("get node node-b")["spec"].contains("unschedulable"));
}

TEST_F(SimConformance, DrainEvictsPodsAndRespectsPdb) {
  // node-c runs only a DaemonSet pod: drain succeeds.
  auto r = Kubectl("drain node-c --ignore-daemonsets --timeout=20s");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // node-a runs two web pods; the PDB (minAvailable 2 of 3) allows one eviction.
  r = Kubectl("drain node-a --ignore-daemonsets --timeout=8s");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("disruption budget"), std::string::npos) << r.out << r.err;
  json pods = KubectlJson("get pods -n shop -l app=web --field-selector spec.nodeName=node-a");
  EXPECT_EQ(pods["items"].size(), 1u);
  EXPECT_EQ(KubectlJson("get node node-a")["spec"]["unschedulable"], true);
  json pdb = KubectlJson("get pdb -n shop web-pdb");
  EXPECT_EQ(pdb["status"]["disruptionsAllowed"], 0);
  EXPECT_EQ(pdb["status"]["disruptedPods"].size(), 1u);
  json rep = Report();
  EXPECT_EQ(rep["evictions"]["accepted"], 1);
  EXPECT_GE(rep["evictions"]["rejectedByPdb"].get<int>(), 1);
}

TEST_F(SimConformance, DeleteRemovesPodAfterGracePeriod) {
  auto r = Kubectl("delete pod -n shop cache-0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl("get pod -n shop cache-0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
  r = Kubectl("delete deploy -n shop web");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Kubectl("get deploy -n shop web").exit_code, 0);
}

TEST_F(SimConformance, CreateRawEvictionReturns201AndPdbRefusalIs429) {
  std::string file = sim_->dir() + "/ev.json";
  std::ofstream(file) << R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"cache-0","namespace":"shop"}})";
  auto r = Kubectl("create --raw /api/v1/namespaces/shop/pods/cache-0/eviction -f " + file);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json st = json::parse(r.out);
  EXPECT_EQ(st["status"], "Success");
  EXPECT_EQ(st["code"], 201);
  for (const char* pod : {"web-5d4f8-0", "web-5d4f8-1"}) {
    std::ofstream(file) << R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":")" << pod
                        << R"(","namespace":"shop"}})";
    r = Kubectl(std::string("create --raw /api/v1/namespaces/shop/pods/") + pod + "/eviction -f " + file);
    if (std::string(pod) == "web-5d4f8-0") {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    } else {
      EXPECT_NE(r.exit_code, 0);
      EXPECT_NE(r.err.find("TooManyRequests"), std::string::npos) << r.err;
    }
  }
}

TEST_F(SimConformance, PatchResizeSubresourceChangesOnlyResources) {
  auto r = Kubectl(R"(patch -n shop pod web-5d4f8-2 --subresource=resize --type=strategic -p '{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"500m"}}}]}}')");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json p = KubectlJson("get pod -n shop web-5d4f8-2");
  EXPECT_EQ(p["spec"]["containers"][0]["resources"]["requests"]["cpu"], "500m");
  EXPECT_EQ(p["metadata"]["generation"], 2);
  r = Kubectl(R"(patch -n shop pod web-5d4f8-2 --subresource=resize --type=strategic -p '{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"2"}}}]}}')");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("must be less than or equal to cpu limit"), std::string::npos) << r.err;
  r = Kubectl(R"(patch -n shop pod web-5d4f8-2 --type=strategic -p '{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"300m"}}}]}}')");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Forbidden: pod updates may not change fields"), std::string::npos) << r.err;
}

TEST_F(SimConformance, ReplaceWithStaleResourceVersionConflicts) {
  std::string file = sim_->dir() + "/deploy.json";
  auto r = Kubectl("get deploy -n shop web -o json");
  ASSERT_EQ(r.exit_code, 0);
  std::ofstream(file) << r.out;
  ASSERT_EQ(Kubectl("label deploy -n shop web bump=1").exit_code, 0);
  r = Kubectl("replace -f " + file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Conflict"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the object has been modified"), std::string::npos) << r.err;
  r = Kubectl("get deploy -n shop web -o json");
  std::ofstream(file) << r.out;
  EXPECT_EQ(Kubectl("replace -f " + file).exit_code, 0);
}

TEST_F(SimConformance, CreateDuplicateAndInvalidObjectsGiveStatusErrors) {
  std::string file = sim_->dir() + "/pod.json";
  std::ofstream(file) << R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"cache-0","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"busybox"}]}})";
  auto r = Kubectl("create -f " + file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("AlreadyExists"), std::string::npos) << r.err;
  std::ofstream(file) << R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name","namespace":"shop"},"spec":{"containers":[]}})";
  r = Kubectl("create -f " + file);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is invalid"), std::string::npos) << r.err;
  r = RunCommand(sim_->Curl() + " " + sim_->Url() + "/api/v1/namespaces/shop/pods/nope");
  json st = json::parse(r.out);
  EXPECT_EQ(st["code"], 404);
  EXPECT_EQ(st["reason"], "NotFound");
  EXPECT_EQ(st["message"], "pods \"nope\" not found");
}

TEST_F(SimConformance, PythonKubernetesClient) {
  auto r = RunCommand("/usr/bin/python3 " + SourceDir() + "/tests/sim/python_client_check.py " + sim_->kubeconfig());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ALL OK"), std::string::npos) << r.out << r.err;
}

TEST_F(SimConformance, BearerTokenRequiredOverTls) {
  auto r = RunCommand(sim_->Curl(false) + " -o /dev/null -w '%{http_code}' " + sim_->Url() + "/api/v1/nodes");
  EXPECT_EQ(r.out, "401");
  r = RunCommand(sim_->Curl(false) + " -H 'Authorization: Bearer wrong' -o /dev/null -w '%{http_code}' " + sim_->Url() + "/api/v1/nodes");
  EXPECT_EQ(r.out, "401");
  r = RunCommand(sim_->Curl(true) + " -o /dev/null -w '%{http_code}' " + sim_->Url() + "/api/v1/nodes");
  EXPECT_EQ(r.out, "200");
}

TEST_F(SimConformance, WatchFromResourceVersionAndPagination) {
  auto list = json::parse(RunCommand(sim_->Curl() + " '" + sim_->Url() + "/api/v1/pods?limit=3'").out);
  ASSERT_EQ(list["items"].size(), 3u);
  std::string cont = list["metadata"]["continue"];
  EXPECT_EQ(list["metadata"]["remainingItemCount"], 5);
  std::string rv = list["metadata"]["resourceVersion"];
  ASSERT_EQ(Kubectl("label pod -n shop cache-0 later=1").exit_code, 0);
  auto page2 = json::parse(RunCommand(sim_->Curl() + " '" + sim_->Url() + "/api/v1/pods?limit=3&continue=" + cont + "'").out);
  EXPECT_EQ(page2["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(page2["items"].size(), 3u);
  for (const auto& p : page2["items"]) EXPECT_FALSE(p["metadata"]["labels"].contains("later"));
  auto w = RunCommand(sim_->Curl() + " --max-time 3 '" + sim_->Url() + "/api/v1/pods?watch=1&timeoutSeconds=1&allowWatchBookmarks=true&resourceVersion=" + rv + "'");
  EXPECT_NE(w.out.find(R"({"type":"MODIFIED","object":{)"), std::string::npos) << w.out;
  EXPECT_NE(w.out.find("\"later\":\"1\""), std::string::npos) << w.out;
}

TEST(SimCommandLine, HelpUnknownFlagAndBadSnapshot) {
  std::string bin = BinDir() + "/kinema-sim";
  auto r = RunCommand(bin + " --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--snapshot"), std::string::npos);
  r = RunCommand(bin + " --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--bogus"), std::string::npos);
  r = RunCommand(bin + " --snapshot /nonexistent.json --catalog " + SourceDir() +
                 "/tests/sim/data/catalog.json --listen 127.0.0.1:0 --write-kubeconfig /tmp/kinema-simtest-never");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent.json"), std::string::npos) << r.err;
}

TEST(SimPlainHttp, KubectlWorksAndWrongTokenIsRejected) {
  SimProcess sim({"--api-only"});
  ASSERT_TRUE(sim.ok());
  auto r = RunCommand(sim.Kubectl() + " get nodes -o name");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "node/node-a\nnode/node-b\nnode/node-c\n");
  r = RunCommand(sim.Curl(false) + " -H 'Authorization: Bearer wrong' -o /dev/null -w '%{http_code}' " + sim.Url() + "/api/v1/nodes");
  EXPECT_EQ(r.out, "401");
  auto rep = json::parse(RunCommand(sim.Curl(false) + " " + sim.Url() + "/sim/v1/report").out);
  EXPECT_EQ(rep["nodes"], 3);
  EXPECT_EQ(rep["runningPods"], 7);
  EXPECT_EQ(rep["pendingPods"], 1);
  EXPECT_NEAR(rep["costPerHour"].get<double>(), 0.134023 * 2 + 0.0804, 1e-9);
}

TEST(SimWatchHistory, TooOldResourceVersionGets410Expired) {
  SimProcess sim({"--watch-history", "2", "--api-only"});
  ASSERT_TRUE(sim.ok());
  std::string k = sim.Kubectl();
  auto list = json::parse(RunCommand(sim.Curl() + " " + sim.Url() + "/api/v1/nodes").out);
  std::string rv = list["metadata"]["resourceVersion"];
  for (int i = 0; i < 4; ++i) RunCommand(k + " label node node-a n" + std::to_string(i) + "=x");
  auto w = RunCommand(sim.Curl() + " '" + sim.Url() + "/api/v1/nodes?watch=true&resourceVersion=" + rv + "'");
  EXPECT_NE(w.out.find(R"("type":"ERROR")"), std::string::npos) << w.out;
  EXPECT_NE(w.out.find(R"("code":410)"), std::string::npos) << w.out;
  EXPECT_NE(w.out.find("too old resource version"), std::string::npos) << w.out;
}

TEST(SimFaults, InjectedErrorsConflictsAndRetryAfter) {
  char tmpl[] = "/tmp/kinema-simtest-faults-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string faults = dir + "/faults.json";
  std::ofstream(faults) << R"({"rules":[
    {"verb":"get","resource":"nodes","error500Rate":1.0},
    {"verb":"list","resource":"pods","error429Rate":1.0,"retryAfterSeconds":7},
    {"verb":"patch","resource":"deployments","conflictRate":1.0},
    {"verb":"list","resource":"deployments","latencyMs":300}]})";
  SimProcess sim({"--faults", faults, "--seed", "42", "--api-only"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto r = RunCommand(sim.Curl() + " -o /dev/null -w '%{http_code}' " + sim.Url() + "/api/v1/nodes/node-a");
  EXPECT_EQ(r.out, "500");
  r = RunCommand(sim.Curl() + " -o /dev/null -w '%{http_code}' " + sim.Url() + "/api/v1/nodes");
  EXPECT_EQ(r.out, "200");
  r = RunCommand(sim.Curl() + " -i " + sim.Url() + "/api/v1/pods");
  EXPECT_NE(r.out.find("429"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Retry-After: 7"), std::string::npos) << r.out;
  r = RunCommand(sim.Kubectl() + R"( patch -n shop deploy web --type=merge -p '{"spec":{"replicas":1}}')");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Conflict"), std::string::npos) << r.err;
  r = RunCommand(sim.Curl() + " -o /dev/null -w '%{time_total}' " + sim.Url() + "/apis/apps/v1/deployments");
  EXPECT_GE(std::stod(r.out), 0.29);
  std::filesystem::remove_all(dir);
}

TEST(SimFaults, WatchStreamsAreDroppedAbruptly) {
  char tmpl[] = "/tmp/kinema-simtest-drop-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string faults = dir + "/faults.json";
  std::ofstream(faults) << R"({"rules":[{"verb":"watch","resource":"pods","watchDropRate":1.0,"watchDropAfterMs":300}]})";
  SimProcess sim({"--faults", faults, "--api-only"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto start = std::chrono::steady_clock::now();
  // A graceful end would be exit 0 after timeoutSeconds=10; an abrupt cut is curl error 18.
  auto r = RunCommand(sim.Curl() + " '" + sim.Url() + "/api/v1/pods?watch=1&timeoutSeconds=10'");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 18) << r.err;
  EXPECT_LT(secs, 5.0);
  EXPECT_NE(r.out.find(R"("type":"ADDED")"), std::string::npos);
  // Node watches are not affected by a pods rule.
  r = RunCommand(sim.Curl() + " '" + sim.Url() + "/api/v1/nodes?watch=1&timeoutSeconds=1'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kinema::simtest
