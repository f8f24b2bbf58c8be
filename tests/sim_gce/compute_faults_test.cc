// FaultInjector rules for the Compute API (parsing, matching, decisions) and
// the fake GCE's request classification, without a server.
#include <gtest/gtest.h>

#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/gce/fake_gce.h"

namespace kinema::sim {
namespace {

FaultInjector Injector(const std::string& text, uint64_t seed = 1) {
  auto rules = FaultInjector::ParseText(text);
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  return FaultInjector(rules.ok() ? rules.value() : std::vector<FaultRule>{}, seed);
}

TEST(ComputeFaultRulesTest, ParsesComputeRulesAndRejectsMeaninglessOnes) {
  auto ok = FaultInjector::ParseText(
      R"({"rules":[{"verb":"wait","resource":"compute.operations","lostResponseRate":0.5,"error503Rate":0.1},
                   {"resource":"compute.*","error429Rate":0.2}]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok.value()[0].lost_response_rate, 0.5);
  EXPECT_EQ(ok.value()[0].error503_rate, 0.1);

  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"compute.disks"}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"compute.instances","verb":"patch"}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"pods","verb":"wait"}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"pods","lostResponseRate":0.1}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"lostResponseRate":0.1}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"compute.*","conflictRate":0.1}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"compute.*","lostResponseRate":1.5}]})").ok());
}

TEST(ComputeFaultRulesTest, StarMatchesKubernetesOnlyAndComputeStarMatchesComputeOnly) {
  FaultInjector star = Injector(R"({"rules":[{"error500Rate":1,"latencyMs":100}]})");
  EXPECT_FALSE(star.DecideCompute("create", "compute.instances").error);
  EXPECT_EQ(star.DecideLatency("create", "compute.instances").count(), 0);
  EXPECT_TRUE(star.DecideError("get", "pods", "", "p").has_value());
  EXPECT_EQ(star.DecideLatency("get", "pods").count(), 100);

  FaultInjector compute = Injector(R"({"rules":[{"resource":"compute.*","error500Rate":1,"latencyMs":100}]})");
  EXPECT_FALSE(compute.DecideError("get", "pods", "", "p").has_value());
  EXPECT_EQ(compute.DecideLatency("get", "pods").count(), 0);
  EXPECT_EQ(compute.DecideLatency("wait", "compute.operations").count(), 100);
  auto d = compute.DecideCompute("wait", "compute.operations");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, 500);
  EXPECT_EQ(d.error->reason, "backendError");
  EXPECT_FALSE(d.lost_response);
  EXPECT_EQ(compute.injected(), 2u);  // one latency, one error (pods drew nothing)
}

TEST(ComputeFaultRulesTest, ErrorsComeBeforeLostResponsesAndRateLimitsAre403) {
  FaultInjector lost = Injector(R"({"rules":[{"resource":"compute.instances","verb":"create","lostResponseRate":1}]})");
  auto d = lost.DecideCompute("create", "compute.instances");
  EXPECT_FALSE(d.error);
  ASSERT_TRUE(d.lost_response);
  EXPECT_EQ(d.lost_response->code, 503);
  EXPECT_EQ(d.lost_response->reason, "backendError");
  EXPECT_FALSE(lost.DecideCompute("delete", "compute.instances").lost_response);

  FaultInjector both = Injector(
      R"({"rules":[{"resource":"compute.instances","lostResponseRate":1},{"resource":"compute.*","error429Rate":1}]})");
  d = both.DecideCompute("get", "compute.instances");
  ASSERT_TRUE(d.error);
  EXPECT_FALSE(d.lost_response);
  EXPECT_EQ(d.error->code, 403);
  EXPECT_EQ(d.error->reason, "rateLimitExceeded");
  EXPECT_EQ(d.error->domain, "usageLimits");
}

TEST(ComputeFaultRulesTest, SameSeedSameFaults) {
  const char* rules = R"({"rules":[{"resource":"compute.*","lostResponseRate":0.5,"error500Rate":0.2}]})";
  FaultInjector a = Injector(rules, 42), b = Injector(rules, 42);
  int faults = 0;
  for (int i = 0; i < 200; ++i) {
    auto x = a.DecideCompute("create", "compute.instances");
    auto y = b.DecideCompute("create", "compute.instances");
    EXPECT_EQ(x.error.has_value(), y.error.has_value());
    EXPECT_EQ(x.lost_response.has_value(), y.lost_response.has_value());
    faults += x.error || x.lost_response;
  }
  EXPECT_GT(faults, 80);  // about 60% of 200
  EXPECT_LT(faults, 160);
}

HttpRequest Req(const std::string& method, const std::string& path) {
  HttpRequest r;
  r.method = method;
  r.path = path;
  r.target = path;
  return r;
}

TEST(ComputeFaultRulesTest, ClassifiesEveryServedComputeCall) {
  using gce::ClassifyComputeRequest;
  const std::string z = "/compute/v1/projects/p/zones/us-central1-a";
  auto is = [](const std::optional<FaultTarget>& t, const std::string& verb, const std::string& resource) {
    return t && t->verb == verb && t->resource == resource;
  };
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("POST", z + "/instances")), "create", "compute.instances"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", z + "/instances")), "list", "compute.instances"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", z + "/instances/n")), "get", "compute.instances"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("DELETE", z + "/instances/n")), "delete", "compute.instances"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", "/compute/v1/projects/p/aggregated/instances")), "list",
                 "compute.instances"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", z + "/operations/op-1")), "get", "compute.operations"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("POST", z + "/operations/op-1/wait")), "wait", "compute.operations"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", z + "/machineTypes")), "list", "compute.machineTypes"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", z + "/machineTypes/e2-small")), "get", "compute.machineTypes"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", "/compute/v1/projects/p/zones")), "list", "compute.zones"));
  EXPECT_TRUE(is(ClassifyComputeRequest(Req("GET", z)), "get", "compute.zones"));
  EXPECT_FALSE(ClassifyComputeRequest(Req("PUT", z + "/instances/n")));
  EXPECT_FALSE(ClassifyComputeRequest(Req("GET", z + "/disks")));
  EXPECT_FALSE(ClassifyComputeRequest(Req("GET", "/api/v1/pods")));
}

}  // namespace
}  // namespace kinema::sim
