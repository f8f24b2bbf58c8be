// Unit tests of the generic custom-resource facility (schema defaults and
// validation, printer-column JSONPath, the kind table) and of the VPA
// recommender's arithmetic.
#include <gtest/gtest.h>

#include <cmath>

#include "tools/kinema-sim/admission.h"
#include "tools/kinema-sim/custom_resources.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/vpa/recommendation_model.h"

namespace kinema::sim {
namespace {

using Json = nlohmann::json;

const ResourceType& Vm() {
  return *ResourceRegistry::Default().Find("simulation.node-classifier.io", "v1alpha1", "virtualmachines");
}
const ResourceType& Vpa() {
  return *ResourceRegistry::Default().Find("autoscaling.k8s.io", "v1", "verticalpodautoscalers");
}

TEST(CustomResources, EveryDefinitionIsServedWithItsStatusSubresource) {
  for (const auto& crd : CustomResourceDefinitions()) {
    const ResourceType* rt = ResourceRegistry::Default().Find(crd.group, crd.version, crd.plural);
    ASSERT_NE(rt, nullptr) << crd.CrdName();
    EXPECT_EQ(FindCustomResource(*rt), &crd);
    EXPECT_TRUE(rt->uses_generation);
    EXPECT_NE(rt->FindSubresource("status"), nullptr);
    EXPECT_EQ(ResourceRegistry::Default().FindByKind(crd.group + "/" + crd.version, crd.kind), rt);
  }
  EXPECT_EQ(Vm().short_names, (std::vector<std::string>{"vm", "vms"}));
  EXPECT_EQ(Vpa().short_names, (std::vector<std::string>{"vpa"}));
  EXPECT_EQ(FindCustomResource(*ResourceRegistry::Default().Find("", "v1", "pods")), nullptr);
}

TEST(CustomResources, SchemaDefaultsFillOnlyWhatIsAbsent) {
  Json vm = {{"apiVersion", "simulation.node-classifier.io/v1alpha1"},
             {"kind", "VirtualMachine"},
             {"metadata", {{"name", "a"}}},
             {"spec", {{"resources", {{"cpu", "4"}, {"memory", "8Gi"}}}, {"utilization", {{"cpu", "0.9"}}}}}};
  ApplyDefaults(Vm(), vm);
  EXPECT_EQ(vm["spec"]["utilization"]["cpu"], "0.9");
  EXPECT_EQ(vm["spec"]["utilization"]["memory"], "0.8");
  EXPECT_EQ(vm["spec"]["migration"]["dirtyRateMbps"], 800);
  EXPECT_TRUE(Validate(Vm(), vm, nullptr).empty());
}

TEST(CustomResources, ValidationNamesEachBadField) {
  Json vpa = {{"apiVersion", "autoscaling.k8s.io/v1"},
              {"kind", "VerticalPodAutoscaler"},
              {"metadata", {{"name", "web"}}},
              {"spec",
               {{"targetRef", {{"kind", "Deployment"}}},
                {"updatePolicy", {{"updateMode", "Sometimes"}, {"minReplicas", 0}}},
                {"resourcePolicy", {{"containerPolicies", Json::array({{{"minAllowed", {{"cpu", Json::array()}}}}})}}}}}};
  auto causes = Validate(Vpa(), vpa, nullptr);
  std::map<std::string, std::string> by_field;
  for (const auto& c : causes) by_field[c.field] = c.message;
  EXPECT_EQ(by_field["spec.targetRef.name"], "Required value");
  EXPECT_NE(by_field["spec.updatePolicy.updateMode"].find("Unsupported value: \"Sometimes\": supported values: \"Off\""),
            std::string::npos);
  EXPECT_NE(by_field["spec.updatePolicy.minReplicas"].find("greater than or equal to 1"), std::string::npos);
  EXPECT_NE(by_field["spec.resourcePolicy.containerPolicies[0].minAllowed.cpu"].find("integer,string"),
            std::string::npos);
  Json no_spec = {{"metadata", {{"name", "x"}}}};
  auto missing = Validate(Vpa(), no_spec, nullptr);
  ASSERT_FALSE(missing.empty());
  EXPECT_EQ(missing[0].field, "spec");
}

TEST(CustomResources, PrinterColumnJsonPath) {
  Json obj = {{"spec", {{"updatePolicy", {{"updateMode", "Off"}}}}},
              {"status",
               {{"recommendation", {{"containerRecommendations", Json::array({{{"target", {{"cpu", "250m"}}}}})}}},
                {"conditions", Json::array({{{"type", "NoPodsMatched"}, {"status", "False"}},
                                            {{"type", "RecommendationProvided"}, {"status", "True"}}})}}}};
  EXPECT_EQ(EvaluateJsonPath(obj, ".spec.updatePolicy.updateMode"), "Off");
  EXPECT_EQ(EvaluateJsonPath(obj, ".status.recommendation.containerRecommendations[0].target.cpu"), "250m");
  EXPECT_EQ(EvaluateJsonPath(obj, ".status.conditions[?(@.type=='RecommendationProvided')].status"), "True");
  EXPECT_EQ(EvaluateJsonPath(obj, "{.status.conditions[*].type}"), "NoPodsMatched,RecommendationProvided");
  EXPECT_EQ(EvaluateJsonPath(obj, ".status.conditions[-1].type"), "RecommendationProvided");
  EXPECT_EQ(EvaluateJsonPath(obj, ".status.missing.field"), "");
  EXPECT_EQ(EvaluateJsonPath(obj, ".status.conditions[x"), "");  // malformed: nothing, no crash
}

TEST(CustomResources, CrdObjectDescribesTheDefinition) {
  for (const auto& crd : CustomResourceDefinitions()) {
    Json o = CrdObject(crd);
    EXPECT_EQ(o["metadata"]["name"], crd.CrdName());
    EXPECT_EQ(o["spec"]["names"]["kind"], crd.kind);
    EXPECT_EQ(o["spec"]["versions"][0]["name"], crd.version);
    EXPECT_TRUE(o["spec"]["versions"][0]["subresources"].contains("status"));
  }
}

// --- VPA recommender arithmetic ----------------------------------------------

// The end of the exponential bucket holding v (first bucket `first`, ratio 1.05), as upstream's histogram.
double BucketEnd(double v, double first) {
  const double r = 1.05;
  double i = std::floor(std::log(v * (r - 1) / first + 1) / std::log(r));
  return first * (std::pow(r, i + 1) - 1) / (r - 1);
}

TEST(VpaRecommendation, TargetIsP90CpuAndPeakMemoryWithFifteenPercentMargin) {
  vpa::RecommenderConfig cfg;
  cfg.half_life_s = 1e12;  // equal weights: the percentile is exactly the 90th sample
  std::map<std::string, vpa::AggregateContainerState> c;
  c.emplace("app", vpa::AggregateContainerState(cfg));
  // 99 samples a minute apart: CPU 0.01..0.99 cores, memory flat 400 MiB with one 600 MiB peak.
  // (99, not 100: the 90th percentile then falls inside a sample's weight, not on a tie.)
  for (int i = 1; i <= 99; ++i) {
    double mem = (i == 50 ? 600.0 : 400.0) * 1048576;
    c.at("app").AddSample("ns/p/uid", i / 100.0, 0.5, mem, i * 60.0);
  }
  auto recs = vpa::Estimate(cfg, c, {8, 32.0 * (1 << 30)});
  ASSERT_EQ(recs.size(), 1u);
  // p90 of a uniform 0.01..0.99 is the 90th sample (0.90), reported as its bucket's end, + 15 %.
  EXPECT_NEAR(recs[0].target.cpu_cores, BucketEnd(0.90, 0.01) * 1.15, 1e-9);
  // Memory: the peak of the (one) aggregation interval, bucket end, + 15 %.
  EXPECT_NEAR(recs[0].target.memory_bytes, BucketEnd(600.0 * 1048576, 1e7) * 1.15, 1.0);
  // Short history: the upper bound is widened (1 + 1/confidence), capped at 95 % of the largest node.
  EXPECT_DOUBLE_EQ(recs[0].upper_bound.cpu_cores, 0.95 * 8);
  EXPECT_LT(recs[0].lower_bound.cpu_cores, recs[0].target.cpu_cores);
  EXPECT_EQ(recs[0].uncapped_target.cpu_cores, recs[0].target.cpu_cores);
}

TEST(VpaRecommendation, PodMinimumAndResourcePolicy) {
  vpa::RecommenderConfig cfg;
  std::map<std::string, vpa::AggregateContainerState> c;
  c.emplace("a", vpa::AggregateContainerState(cfg));
  c.emplace("b", vpa::AggregateContainerState(cfg));
  c.emplace("off", vpa::AggregateContainerState(cfg));
  for (int i = 0; i < 10; ++i) {
    c.at("a").AddSample("p", 0.001, 0.1, 1e6, i * 60.0);
    c.at("b").AddSample("p", 2.0, 1.0, 2e9, i * 60.0);
    c.at("off").AddSample("p", 1.0, 1.0, 1e9, i * 60.0);
  }
  auto recs = vpa::Estimate(cfg, c, {});
  // Tiny usage: the pod minimum (25m, 250 MiB) split over 3 containers (CPU: the first
  // bucket's end, 0.01 core + 15 %, is already above 25m / 3).
  EXPECT_NEAR(recs[0].target.cpu_cores, 0.01 * 1.15, 1e-9);
  EXPECT_NEAR(recs[0].target.memory_bytes, 250.0 * 1048576 / 3, 1e-3);
  Json policy = {{"containerPolicies",
                  Json::array({{{"containerName", "*"}, {"maxAllowed", {{"cpu", "1"}, {"memory", "1Gi"}}}},
                               {{"containerName", "off"}, {"mode", "Off"}},
                               {{"containerName", "a"}, {"minAllowed", {{"cpu", "100m"}}},
                                {"controlledResources", Json::array({"cpu"})}}})}};
  auto capped = vpa::ApplyPolicy(policy, recs);
  ASSERT_EQ(capped.size(), 2u);  // "off" dropped
  EXPECT_EQ(capped[0].container, "a");
  EXPECT_DOUBLE_EQ(capped[0].target.cpu_cores, 0.1);
  EXPECT_FALSE(capped[0].has_memory);
  EXPECT_EQ(capped[1].container, "b");
  EXPECT_DOUBLE_EQ(capped[1].target.cpu_cores, 1.0);
  EXPECT_GT(capped[1].uncapped_target.cpu_cores, 2.0);
  EXPECT_DOUBLE_EQ(capped[1].target.memory_bytes, 1073741824.0);
  Json out = vpa::RecommendationJson(capped);
  EXPECT_EQ(out[0]["target"]["cpu"], "100m");
  EXPECT_FALSE(out[0]["target"].contains("memory"));
  EXPECT_EQ(out[1]["target"]["memory"], "1073741824");
}

TEST(VpaRecommendation, HistogramDecaysOldSamples) {
  vpa::DecayingHistogram h(0.01, 1.05, 1000, 3600);  // 1 h half-life
  h.Add(1.0, 1.0, 0);
  h.Add(4.0, 1.0, 10 * 3600.0);  // ten half-lives later: weighs 1024x the old sample
  EXPECT_GT(h.Percentile(0.5), 3.9);
  EXPECT_LT(h.Percentile(0.0001), 1.1);
}

}  // namespace
}  // namespace kinema::sim
