// --faults on the fake GCE, over HTTP against the real kinema-sim binary:
// injected errors are GCE error bodies and change nothing; a lost response
// carries the request out and the retry with the same requestId returns the
// same operation without a second instance; "*" rules stay Kubernetes-only;
// latency rules delay Compute requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/http/http_client.h"
#include "tests/sim/sim_process.h"
#include "tests/support/test_support.h"

namespace kinema::sim {
namespace {

using nlohmann::json;
using simtest::SimProcess;

// The small snapshot's nodes carry gce://demo/... providerIDs: project "demo".
const std::string kZonePath = "/compute/v1/projects/demo/zones/us-central1-a";
const std::string kRequestId = "6f1c2a8e-1b2d-4c3e-9f40-0a1b2c3d4e5f";

class FaultySim {
 public:
  explicit FaultySim(const json& faults, int seed = 7) {
    std::ofstream(dir_.File("faults.json")) << faults.dump();
    sim_ = std::make_unique<SimProcess>(std::vector<std::string>{"--faults", dir_.File("faults.json"), "--seed",
                                                                 std::to_string(seed), "--time-scale", "1000"});
  }
  bool ok() const { return sim_->ok(); }
  std::string Log() const { return sim_->Log(); }

  http::Response Do(const std::string& method, const std::string& path, const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.url = sim_->Url() + path;
    r.body = body;
    r.bearer_token = sim_->Token();
    if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
    auto resp = http_->Do(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? *resp : http::Response{};
  }
  json Report() { return json::parse(Do("GET", "/sim/v1/report").body, nullptr, false); }

 private:
  testing::TempDir dir_;  // outlives the process (declared first)
  std::unique_ptr<SimProcess> sim_;
  std::shared_ptr<http::HttpClient> http_ = std::make_shared<http::HttpClient>();
};

std::string InsertBody(const std::string& name) {
  return json{{"name", name}, {"machineType", "zones/us-central1-a/machineTypes/e2-standard-4"}}.dump();
}

// {"error":{"code":C,"message":M,"errors":[{"message":M,"domain":D,"reason":R}]}}
void ExpectGceError(const http::Response& r, int code, const std::string& reason, const std::string& domain) {
  EXPECT_EQ(r.status, code) << r.body;
  json b = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(b.is_object()) << r.body;
  ASSERT_TRUE(b.contains("error")) << r.body;
  EXPECT_EQ(b["error"]["code"], code);
  EXPECT_FALSE(b["error"]["message"].get<std::string>().empty());
  ASSERT_EQ(b["error"]["errors"].size(), 1u) << r.body;
  EXPECT_EQ(b["error"]["errors"][0]["reason"], reason);
  EXPECT_EQ(b["error"]["errors"][0]["domain"], domain);
  EXPECT_EQ(b["error"]["errors"][0]["message"], b["error"]["message"]);
}

TEST(ComputeFaultsSimTest, InjectedErrorsAreGceErrorBodiesAndCarryNothingOut) {
  FaultySim sim(json{{"rules",
                      {{{"verb", "create"}, {"resource", "compute.instances"}, {"error500Rate", 1}},
                       {{"resource", "compute.zones"}, {"error429Rate", 1}},
                       {{"verb", "get"}, {"resource", "compute.machineTypes"}, {"error503Rate", 1}}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();

  auto r = sim.Do("POST", kZonePath + "/instances?requestId=" + kRequestId, InsertBody("kinema-err-1"));
  ExpectGceError(r, 500, "backendError", "global");
  EXPECT_EQ(json::parse(r.body)["error"]["message"], "Internal error. Please try again or contact Google Support.");
  EXPECT_EQ(sim.Do("GET", kZonePath + "/instances/kinema-err-1").status, 404);  // nothing was created
  // Rate limits: what Compute answers, 403 rateLimitExceeded (domain usageLimits).
  ExpectGceError(sim.Do("GET", "/compute/v1/projects/demo/zones"), 403, "rateLimitExceeded", "usageLimits");
  ExpectGceError(sim.Do("GET", kZonePath + "/machineTypes/e2-standard-4"), 503, "backendError", "global");
  // Rules name verbs: list is not get; instances.list is not instances.insert.
  EXPECT_EQ(sim.Do("GET", kZonePath + "/machineTypes").status, 200);
  EXPECT_EQ(sim.Do("GET", kZonePath + "/instances").status, 200);

  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 0);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_NE(sim.Log().find("fault: create compute.instances -> 500 backendError"), std::string::npos) << sim.Log();
}

TEST(ComputeFaultsSimTest, LostInsertResponseStillCreatesTheInstanceExactlyOnce) {
  FaultySim sim(json{{"rules", {{{"verb", "create"}, {"resource", "compute.instances"}, {"lostResponseRate", 1}}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  const std::string insert = kZonePath + "/instances?requestId=" + kRequestId;

  ExpectGceError(sim.Do("POST", insert, InsertBody("kinema-lost-1")), 503, "backendError", "global");
  auto got = sim.Do("GET", kZonePath + "/instances/kinema-lost-1");
  EXPECT_EQ(got.status, 200) << "the insert was carried out although the client saw an error: " << got.body;
  EXPECT_EQ(sim.Report()["cloud"]["instancesCreated"], 1);

  // The retry (same requestId) is answered from the first operation: its
  // answer is lost too (rate 1), but nothing new is created or refused.
  ExpectGceError(sim.Do("POST", insert, InsertBody("kinema-lost-1")), 503, "backendError", "global");
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_NE(sim.Log().find("insert requestId " + kRequestId + " repeated"), std::string::npos) << sim.Log();

  // Without a requestId the repeat is refused (409 alreadyExists, counted as
  // a duplicate) -- the client only sees the lost-response error.
  ExpectGceError(sim.Do("POST", kZonePath + "/instances", InsertBody("kinema-lost-1")), 503, "backendError", "global");
  report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 1);
}

TEST(ComputeFaultsSimTest, LostDeleteResponseStillDeletesExactlyOnce) {
  FaultySim sim(json{{"rules", {{{"verb", "delete"}, {"resource", "compute.instances"}, {"lostResponseRate", 1}}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  // node-a: an instance adopted from the snapshot.
  const std::string del = kZonePath + "/instances/node-a?requestId=" + kRequestId;
  ExpectGceError(sim.Do("DELETE", del), 503, "backendError", "global");
  EXPECT_EQ(sim.Report()["cloud"]["instancesDeleted"], 1);
  auto got = sim.Do("GET", kZonePath + "/instances/node-a");
  if (got.status == 200) {
    EXPECT_EQ(json::parse(got.body)["status"], "STOPPING") << got.body;
  } else {
    EXPECT_EQ(got.status, 404) << got.body;  // already gone (deleteDelay passed)
  }
  ExpectGceError(sim.Do("DELETE", del), 503, "backendError", "global");  // the retry
  EXPECT_EQ(sim.Report()["cloud"]["instancesDeleted"], 1);
  EXPECT_NE(sim.Log().find("delete requestId " + kRequestId + " repeated"), std::string::npos) << sim.Log();
}

TEST(ComputeFaultsSimTest, RetryAfterLostResponseReturnsTheSameOperation) {
  FaultySim sim(json{{"rules", {{{"resource", "compute.instances"}, {"lostResponseRate", 0.5}}}}}, 11);
  ASSERT_TRUE(sim.ok()) << sim.Log();
  const std::string insert = kZonePath + "/instances?requestId=" + kRequestId;
  int lost = 0;
  std::set<std::string> operations;
  int answered = 0;
  for (int attempt = 0; attempt < 60 && (answered < 2 || lost == 0); ++attempt) {
    auto r = sim.Do("POST", insert, InsertBody("kinema-retry-1"));
    if (r.status == 503) {
      ExpectGceError(r, 503, "backendError", "global");
      ++lost;
      continue;
    }
    ASSERT_EQ(r.status, 200) << r.body;
    json op = json::parse(r.body);
    EXPECT_EQ(op["operationType"], "insert");
    operations.insert(op["name"].get<std::string>());
    ++answered;
  }
  EXPECT_GT(lost, 0);
  EXPECT_GE(answered, 2);
  EXPECT_EQ(operations.size(), 1u) << "every answer to the same requestId is the same operation";
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);

  // A retry without requestId: 409 alreadyExists once its answer gets through.
  http::Response r;
  for (int attempt = 0; attempt < 60; ++attempt) {
    r = sim.Do("POST", kZonePath + "/instances", InsertBody("kinema-retry-1"));
    if (r.status != 503) break;
  }
  ExpectGceError(r, 409, "alreadyExists", "global");
  EXPECT_EQ(sim.Report()["cloud"]["instancesCreated"], 1);
}

TEST(ComputeFaultsSimTest, StarRulesLeaveTheComputeApiAlone) {
  FaultySim sim(json{{"rules", {{{"error500Rate", 1}, {"latencyMs", 1500}}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto start = std::chrono::steady_clock::now();
  auto r = sim.Do("POST", kZonePath + "/instances?requestId=" + kRequestId, InsertBody("kinema-star-1"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sim.Do("GET", "/compute/v1/projects/demo/zones").status, 200);
  EXPECT_EQ(sim.Do("GET", kZonePath + "/instances/kinema-star-1").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  // ... while Kubernetes requests get them.
  EXPECT_EQ(sim.Do("GET", "/api/v1/nodes").status, 500);
}

TEST(ComputeFaultsSimTest, LatencyRulesDelayComputeRequests) {
  FaultySim sim(json{{"rules", {{{"verb", "list"}, {"resource", "compute.*"}, {"latencyMs", 400}}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(sim.Do("GET", "/compute/v1/projects/demo/zones").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(sim.Do("GET", "/compute/v1/projects/demo/zones/us-central1-a").status, 200);  // a get: no rule
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
}

}  // namespace
}  // namespace kinema::sim
