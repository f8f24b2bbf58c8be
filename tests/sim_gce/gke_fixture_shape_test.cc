// kinema-sim's fake GKE, managed-instance-group, template and Cloud Billing
// APIs against the golden fixtures in tests/fixtures/gcp/: the sim accepts
// the recorded request bodies verbatim, and every field a recorded response
// has, the sim's response has too, with the same JSON type (extra fields are
// fine). engine/cloud is tested against the same files
// (tests/cloud/gke_fixtures_test.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "engine/http/http_client.h"
#include "tests/sim/sim_process.h"
#include "tests/support/json_shape.h"

namespace kinema::sim {
namespace {

using nlohmann::json;
using testing::GcpFixture;
using testing::ShapeDiff;
using namespace std::chrono_literals;

const std::string kPools = "/container/v1/projects/demo/locations/us-central1/clusters/sim-cluster/nodePools";
const std::string kOps = "/container/v1/projects/demo/locations/us-central1/operations";

class Sim {
 public:
  Sim() {
    char tmpl[] = "/tmp/kinema-gke-shape-XXXXXX";
    dir_ = mkdtemp(tmpl);
    json zones = json::array({"us-central1-a", "us-central1-b"});
    json catalog{{"provider", "gce"},
                 {"region", "us-central1"},
                 {"currency", "USD"},
                 {"machineTypes",
                  json::array({{{"name", "e2-standard-4"}, {"vcpu", 4}, {"memoryMiB", 16384}, {"zones", zones},
                                {"pricePerHour", {{"onDemand", 0.134012}, {"spot", 0.040207}}}},
                               {{"name", "e2-standard-8"}, {"vcpu", 8}, {"memoryMiB", 32768}, {"zones", zones},
                                {"pricePerHour", {{"onDemand", 0.268024}, {"spot", 0.080414}}}},
                               {{"name", "n2-standard-8"}, {"vcpu", 8}, {"memoryMiB", 32768}, {"zones", zones},
                                {"pricePerHour", {{"onDemand", 0.388472}, {"spot", 0.09344}}}}})}};
    // A stockout in -b, so that a member stays stuck there.
    json scenario{{"cloud",
                   {{"mode", "gke"},
                    {"stockouts", json::array({{{"zone", "us-central1-b"}, {"machineType", "n2-standard-8"}}})}}}};
    std::ofstream(dir_ + "/catalog.json") << catalog.dump();
    std::ofstream(dir_ + "/scenario.json") << scenario.dump();
    sim_ = std::make_unique<simtest::SimProcess>(std::vector<std::string>{
        "--catalog", dir_ + "/catalog.json", "--scenario", dir_ + "/scenario.json", "--time-scale", "1000"});
  }
  ~Sim() {
    sim_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return sim_->ok(); }
  std::string Log() const { return sim_->Log(); }
  std::string Url() const { return sim_->Url(); }

  std::pair<long, json> Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    http::Request r;
    r.method = method;
    r.url = path.rfind("http", 0) == 0 ? path : sim_->Url() + path;
    if (!body.is_null()) {
      r.body = body.dump();
      r.headers.push_back({"Content-Type", "application/json"});
    }
    auto resp = http_.Do(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok()) return {0, json()};
    return {resp->status, json::parse(resp->body, nullptr, false)};
  }
  static bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

 private:
  std::string dir_;
  std::unique_ptr<simtest::SimProcess> sim_;
  http::HttpClient http_;
};

std::string PathOf(const std::string& url) {
  size_t p = url.find("/compute/v1/");
  return p == std::string::npos ? url : url.substr(p);
}

TEST(GkeFixtureShapes, NodePoolsAndClusterOperationsHaveTheRecordedShapes) {
  Sim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  // The recorded create request, verbatim.
  auto [code, op] = sim.Call("POST", kPools, GcpFixture("container/nodePools.create.request.json"));
  ASSERT_EQ(code, 200) << op.dump();
  EXPECT_EQ(ShapeDiff(GcpFixture("container/nodePools.create.response.json"), op), "");
  EXPECT_EQ(op["operationType"], "CREATE_NODE_POOL");
  EXPECT_EQ(op["status"], "RUNNING");

  // While it runs: the pool is PROVISIONING, and a second cluster operation is refused as GKE does.
  auto [pcode, provisioning] = sim.Call("GET", kPools + "/kinema-n2-standard-8-spot");
  ASSERT_EQ(pcode, 200);
  EXPECT_EQ(provisioning["status"], "PROVISIONING");
  EXPECT_EQ(ShapeDiff(GcpFixture("container/nodePools.get.provisioning.json"), provisioning), "");
  EXPECT_FALSE(provisioning.contains("instanceGroupUrls"));
  json other = GcpFixture("container/nodePools.create.request.json");
  other["nodePool"]["name"] = "second";
  auto [bcode, busy] = sim.Call("POST", kPools, other);
  EXPECT_EQ(bcode, 400);
  json want_busy = GcpFixture("container/error.failed_precondition.json");
  EXPECT_EQ(ShapeDiff(want_busy, busy), "");
  EXPECT_EQ(busy["error"]["status"], want_busy["error"]["status"]);
  EXPECT_EQ(busy["error"]["details"][0]["reason"], want_busy["error"]["details"][0]["reason"]);
  EXPECT_NE(busy["error"]["message"].get<std::string>().find("Please wait and try again once it is done"),
            std::string::npos);
  auto [acode, exists] = sim.Call("POST", kPools, GcpFixture("container/nodePools.create.request.json"));
  EXPECT_EQ(acode, 409);
  EXPECT_EQ(ShapeDiff(GcpFixture("container/error.already_exists.json"), exists), "");
  auto [ncode, missing] = sim.Call("GET", kPools + "/nope");
  EXPECT_EQ(ncode, 404);
  EXPECT_EQ(ShapeDiff(GcpFixture("container/error.not_found.json"), missing), "");
  auto [lcode, ops] = sim.Call("GET", kOps);
  ASSERT_EQ(lcode, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("container/operations.list.json"), ops), "");

  // Done: the operation has the recorded DONE shape; the pool the RUNNING one.
  ASSERT_TRUE(Sim::Eventually([&] { return sim.Call("GET", kOps + "/" + op["name"].get<std::string>()).second["status"] == "DONE"; }));
  auto [dcode, done] = sim.Call("GET", kOps + "/" + op["name"].get<std::string>());
  EXPECT_EQ(ShapeDiff(GcpFixture("container/operations.get.done.json"), done), "");
  auto [rcode, running] = sim.Call("GET", kPools + "/kinema-n2-standard-8-spot");
  ASSERT_EQ(rcode, 200);
  EXPECT_EQ(running["status"], "RUNNING");
  EXPECT_EQ(ShapeDiff(GcpFixture("container/nodePools.get.running.json"), running), "");
  EXPECT_EQ(running["instanceGroupUrls"].size(), 2u);
  auto [lpcode, list] = sim.Call("GET", kPools);
  ASSERT_EQ(lpcode, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("container/nodePools.list.json"), list,
                      {"nodePools[].autoscaling.enabled", "nodePools[].autoscaling.minNodeCount",
                       "nodePools[].autoscaling.maxNodeCount", "nodePools[].autoscaling.locationPolicy"}),
            "");
  // The recorded setSize request is accepted.
  auto [scode, set_size] = sim.Call("POST", kPools + "/kinema-n2-standard-8-spot:setSize",
                                    GcpFixture("container/nodePools.setSize.request.json"));
  EXPECT_EQ(scode, 200) << set_size.dump();
  EXPECT_EQ(set_size["operationType"], "SET_NODE_POOL_SIZE");
}

TEST(GkeFixtureShapes, GroupsMembersTemplatesAndInstancesHaveTheRecordedShapes) {
  Sim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto [code, op] = sim.Call("POST", kPools, GcpFixture("container/nodePools.create.request.json"));
  ASSERT_EQ(code, 200) << op.dump();
  json pool;
  ASSERT_TRUE(Sim::Eventually([&] {
    pool = sim.Call("GET", kPools + "/kinema-n2-standard-8-spot").second;
    return pool["status"] == "RUNNING";
  }));
  std::string group_a = PathOf(pool["instanceGroupUrls"][0]);
  std::string group_b = PathOf(pool["instanceGroupUrls"][1]);
  ASSERT_NE(group_a.find("/zones/us-central1-a/"), std::string::npos) << group_a;

  auto [gcode, group] = sim.Call("GET", group_a);
  ASSERT_EQ(gcode, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("compute/instanceGroupManagers.get.json"), group), "");
  EXPECT_EQ(group["name"].get<std::string>(), group["baseInstanceName"].get<std::string>() + "-grp");

  // The recorded createInstances request, verbatim (in -a: capacity; in -b: a stockout).
  json create = GcpFixture("compute/instanceGroupManagers.createInstances.request.json");
  const std::string name = create["instances"][0]["name"];
  auto [ccode, cop] = sim.Call("POST", group_a + "/createInstances?requestId=0b6c3a7e-3d4f-4b0a-9c1d-2e3f4a5b6c7d",
                               create);
  ASSERT_EQ(ccode, 200) << cop.dump();
  json want_cop = GcpFixture("compute/instanceGroupManagers.createInstances.response.json");
  EXPECT_EQ(ShapeDiff(want_cop, cop), "");
  EXPECT_EQ(cop["operationType"], want_cop["operationType"]);
  EXPECT_NE(cop["targetLink"].get<std::string>().find("/instanceGroupManagers/"), std::string::npos);
  auto [c2, stuck_op] = sim.Call("POST", group_b + "/createInstances", create);
  ASSERT_EQ(c2, 200) << stuck_op.dump();

  json fixture_members = GcpFixture("compute/instanceGroupManagers.listManagedInstances.json")["managedInstances"];
  json member;
  ASSERT_TRUE(Sim::Eventually([&] {
    auto [lc, l] = sim.Call("POST", group_a + "/listManagedInstances");
    if (lc != 200 || !l.contains("managedInstances")) return false;
    member = l["managedInstances"][0];
    return member["currentAction"] == "NONE";
  })) << sim.Log();
  EXPECT_EQ(ShapeDiff(fixture_members[0], member), "");
  EXPECT_EQ(member["name"], name);
  auto [sc, stuck] = sim.Call("POST", group_b + "/listManagedInstances");
  ASSERT_EQ(sc, 200);
  ASSERT_TRUE(stuck.contains("managedInstances")) << stuck.dump();
  EXPECT_EQ(ShapeDiff(fixture_members[2], stuck["managedInstances"][0]), "");
  EXPECT_EQ(stuck["managedInstances"][0]["currentAction"], "CREATING");
  EXPECT_EQ(stuck["managedInstances"][0]["lastAttempt"]["errors"]["errors"][0]["code"], "ZONE_RESOURCE_POOL_EXHAUSTED");
  EXPECT_FALSE(stuck["managedInstances"][0].contains("id"));
  auto [ec, errors] = sim.Call("GET", group_b + "/listErrors");
  ASSERT_EQ(ec, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("compute/instanceGroupManagers.listErrors.json"), errors), "");

  // The member's instance and the pool's template.
  auto [ic, inst] = sim.Call("GET", "/compute/v1/projects/demo/zones/us-central1-a/instances/" + name);
  ASSERT_EQ(ic, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("compute/instances.get.gke-member.json"), inst), "");
  bool created_by = false;
  for (const auto& item : inst["metadata"]["items"]) {
    if (item["key"] == "created-by") {
      created_by = item["value"].get<std::string>().find("/instanceGroupManagers/" + group["name"].get<std::string>()) !=
                   std::string::npos;
    }
  }
  EXPECT_TRUE(created_by) << inst["metadata"].dump();
  auto [tc, tmpl] = sim.Call("GET", PathOf(group["instanceTemplate"]));
  ASSERT_EQ(tc, 200) << group["instanceTemplate"];
  EXPECT_EQ(ShapeDiff(GcpFixture("compute/regionInstanceTemplates.get.gke.json"), tmpl,
                      {"properties.networkInterfaces[].aliasIpRanges", "properties.disks[].initializeParams.labels"}),
            "");

  // Node registered as a member of the pool.
  ASSERT_TRUE(Sim::Eventually([&] { return sim.Call("GET", "/api/v1/nodes/" + name).first == 200; })) << sim.Log();
  auto [nc, node] = sim.Call("GET", "/api/v1/nodes/" + name);
  EXPECT_EQ(node["metadata"]["labels"]["cloud.google.com/gke-nodepool"], "kinema-n2-standard-8-spot");

  // The recorded deleteInstances request, verbatim; and resize.
  auto [dc, dop] = sim.Call("POST", group_a + "/deleteInstances?requestId=6a0c1e5d-7b8f-4c2a-9d3e-1f0a2b3c4d5e",
                            GcpFixture("compute/instanceGroupManagers.deleteInstances.request.json"));
  ASSERT_EQ(dc, 200) << dop.dump();
  json want_dop = GcpFixture("compute/instanceGroupManagers.deleteInstances.response.json");
  EXPECT_EQ(ShapeDiff(want_dop, dop, {"endTime"}), "");
  EXPECT_EQ(dop["operationType"], want_dop["operationType"]);
  auto [rc, rop] = sim.Call("POST", group_b + "/resize?size=0");
  ASSERT_EQ(rc, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("compute/instanceGroupManagers.resize.response.json"), rop, {"endTime"}), "");
  auto [mc, machine_types] = sim.Call("GET", "/compute/v1/projects/demo/zones/us-central1-a/machineTypes");
  ASSERT_EQ(mc, 200);
  EXPECT_EQ(ShapeDiff(GcpFixture("compute/machineTypes.list.json"), machine_types), "");
}

TEST(GkeFixtureShapes, BillingSkuPagesHaveTheRecordedShape) {
  Sim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto [code, page] = sim.Call("GET", "/cloudbilling/v1/services/6F81-5844-456A/skus?currencyCode=USD&pageSize=3");
  ASSERT_EQ(code, 200) << page.dump();
  json fixture = GcpFixture("billing/services.skus.list.page1.json");
  EXPECT_EQ(ShapeDiff(fixture, page), "");
  EXPECT_EQ(page["skus"].size(), 3u);
  ASSERT_FALSE(page["nextPageToken"].get<std::string>().empty());
  auto [c2, next] = sim.Call("GET", "/cloudbilling/v1/services/6F81-5844-456A/skus?pageSize=3&pageToken=" +
                                        page["nextPageToken"].get<std::string>());
  ASSERT_EQ(c2, 200);
  EXPECT_NE(next["skus"][0]["skuId"], page["skus"][0]["skuId"]);
  auto [c3, bad] = sim.Call("GET", "/cloudbilling/v1/services/6F81-5844-456A/skus?pageToken=garbage");
  EXPECT_EQ(c3, 400);
  auto [c4, other] = sim.Call("GET", "/cloudbilling/v1/services/0000-0000-0000/skus");
  EXPECT_EQ(c4, 404);
}

}  // namespace
}  // namespace kinema::sim
