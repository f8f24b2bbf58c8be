// The resize kind's pure parts around the policy: reading pods (requests,
// limits, resizePolicy, annotation, resize conditions), the usage window
// from the journal's history, the plan (ordering, cap, hand-off after
// resize.deferredTimeout) and its journal round trip.
#include "steps/resize/plan.h"

#include <gtest/gtest.h>

#include "engine/common/time.h"
#include "steps/resize/observation.h"
#include "steps/resize/template.h"

namespace kinema::resize {
namespace {

using nlohmann::json;
constexpr int64_t Mi = kMiB;

json Pod(const std::string& name, const std::string& mem_req, const std::string& mem_lim) {
  json p = json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"namespace": "shop", "name": "x", "uid": "u-x", "generation": 2,
                 "creationTimestamp": "2026-12-04T10:00:00Z", "annotations": {}},
    "spec": {"nodeName": "n1", "containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"}, "limits": {}}}]},
    "status": {"phase": "Running", "startTime": "2026-12-04T10:00:05Z", "observedGeneration": 2,
               "containerStatuses": [{"name": "app", "resources": {"requests": {"cpu": "250m"}, "limits": {}}}]}
  })");
  p["metadata"]["name"] = name;
  p["metadata"]["uid"] = "u-" + name;
  for (auto* where : {&p["spec"]["containers"][0], &p["status"]["containerStatuses"][0]}) {
    (*where)["resources"]["requests"]["memory"] = mem_req;
    if (!mem_lim.empty()) (*where)["resources"]["limits"]["memory"] = mem_lim;
  }
  return p;
}

TEST(ResizeObservationTest, ReadsRequestsLimitsPolicyAndAnnotation) {
  json p = Pod("a", "256Mi", "512Mi");
  p["spec"]["containers"][0]["resizePolicy"] = json::parse(
      R"([{"resourceName": "cpu", "restartPolicy": "NotRequired"}, {"resourceName": "memory", "restartPolicy": "RestartContainer"}])");
  p["metadata"]["annotations"][kLastResizeAnnotation] = "2026-12-04T10:30:00Z";
  p["metadata"]["annotations"][kLastResizeWorkflowAnnotation] = "inplace-resize-1";
  ObservedPod o = ReadPod(p);
  EXPECT_EQ(o.key(), "shop/a");
  EXPECT_EQ(o.node, "n1");
  ASSERT_EQ(o.containers.size(), 1u);
  EXPECT_EQ(o.containers[0].memory_request, 256 * Mi);
  EXPECT_EQ(o.containers[0].memory_limit, 512 * Mi);
  EXPECT_EQ(o.containers[0].cpu_request, 250);
  EXPECT_FALSE(o.containers[0].cpu_limit.has_value());
  EXPECT_TRUE(o.containers[0].memory_restart);
  EXPECT_FALSE(o.containers[0].cpu_restart);
  EXPECT_EQ(o.last_resize_ms, *ParseRfc3339Ms("2026-12-04T10:30:00Z"));
  EXPECT_EQ(o.started_ms, *ParseRfc3339Ms("2026-12-04T10:00:05Z"));
  EXPECT_EQ(o.last_resize_workflow, "inplace-resize-1");
  EXPECT_EQ(o.resize, ResizeState::kNone);
  auto back = ObservedPod::FromJson(o.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), o.ToJson());
}

TEST(ResizeObservationTest, SeesPendingAndUnactuatedResizes) {
  json p = Pod("a", "256Mi", "512Mi");
  p["spec"]["containers"][0]["resources"]["requests"]["memory"] = "400Mi";
  EXPECT_TRUE(SpecAheadOfStatus(p));
  EXPECT_EQ(ReadPod(p).resize, ResizeState::kInProgress);
  p["status"]["conditions"] = json::parse(
      R"([{"type": "PodResizePending", "status": "True", "reason": "Deferred", "message": "Node didn't have enough resource: memory"}])");
  EXPECT_EQ(ReadPod(p).resize, ResizeState::kDeferred);
  EXPECT_EQ(ReadPod(p).resize_message, "Node didn't have enough resource: memory");
  p["status"]["conditions"][0]["reason"] = "Infeasible";
  EXPECT_EQ(ReadPod(p).resize, ResizeState::kInfeasible);
  json q = Pod("b", "256Mi", "");
  EXPECT_FALSE(SpecAheadOfStatus(q));
  q["metadata"]["generation"] = 3;
  EXPECT_TRUE(SpecAheadOfStatus(q)) << "observedGeneration behind";
}

ObservedPod Observed(const std::string& name, int64_t req, double usage, int64_t at) {
  ObservedPod p;
  p.ns = "shop";
  p.name = name;
  p.uid = "u-" + name;
  p.node = "n1";
  p.sampled_ms = at;
  p.started_ms = 0;
  ObservedContainer c;
  c.name = "app";
  c.memory_request = req;
  c.has_usage = true;
  c.memory_usage = usage;
  p.containers.push_back(c);
  return p;
}

TEST(ResizeObservationTest, WindowPeakAndCoverageFromHistory) {
  const int64_t now = 10'000'000, window = 300'000;
  UsageHistory h;
  Observation old;
  old.pods.push_back(Observed("a", 1000 * Mi, 250 * Mi, now - window - 1));  // before the window: coverage only
  AddToHistory(old, &h);
  Observation mid;
  mid.pods.push_back(Observed("a", 1000 * Mi, 400 * Mi, now - 100'000));  // inside: a peak
  AddToHistory(mid, &h);
  PodState s = ToPodState(Observed("a", 1000 * Mi, 100 * Mi, now), h, window);
  ASSERT_EQ(s.containers.size(), 1u);
  EXPECT_TRUE(s.containers[0].memory.window_covered);
  EXPECT_DOUBLE_EQ(s.containers[0].memory.window_peak, 400.0 * Mi);
  EXPECT_DOUBLE_EQ(s.containers[0].memory.usage, 100.0 * Mi);
  PodState fresh = ToPodState(Observed("b", 1000 * Mi, 100 * Mi, now), h, window);
  EXPECT_FALSE(fresh.containers[0].memory.window_covered) << "no history for this pod";
}

TEST(ResizePlanTest, ScaleUpsFirstCappedAndHandOffAfterDeferredTimeout) {
  ResizeSettings st;
  st.max_pods_per_cycle = 2;
  st.deferred_timeout = Duration(300'000);
  const int64_t now = 10'000'000;
  Observation o;
  o.pods.push_back(Observed("down", 2000 * Mi, 100 * Mi, now));       // low, but the window is not covered
  o.pods.push_back(Observed("up-small", 1000 * Mi, 810 * Mi, now));   // x1.2
  o.pods.push_back(Observed("up-big", 1000 * Mi, 1500 * Mi, now));    // x2.1
  o.pods.push_back(Observed("up-third", 1000 * Mi, 900 * Mi, now));   // x1.26: over the cap
  ObservedPod deferred = Observed("deferred", 2000 * Mi, 1500 * Mi, now);
  deferred.resize = ResizeState::kDeferred;
  deferred.resize_message = "Node didn't have enough resource: memory";
  deferred.last_resize_ms = now - 300'000;
  deferred.last_resize_workflow = "inplace-resize-0";
  o.pods.push_back(deferred);
  ObservedPod waiting = deferred;
  waiting.name = "waiting";
  waiting.uid = "u-waiting";
  waiting.last_resize_ms = now - 299'999;
  o.pods.push_back(waiting);

  ResizePlan plan = MakePlan(o, {}, st);
  ASSERT_EQ(plan.resizes.size(), 2u);
  EXPECT_EQ(plan.resizes[0].name, "up-big");
  EXPECT_EQ(plan.resizes[1].name, "up-third");
  EXPECT_EQ(plan.deferred_for_later, std::vector<std::string>{"shop/up-small"});
  ASSERT_EQ(plan.handoffs.size(), 1u);
  EXPECT_EQ(plan.handoffs[0].name, "deferred");
  EXPECT_EQ(plan.handoffs[0].state, "Deferred");
  EXPECT_EQ(plan.handoffs[0].wanted["app"]["memory"], "2000Mi");
  EXPECT_TRUE(plan.left.count("shop/waiting"));
  EXPECT_TRUE(plan.left.count("shop/down"));

  auto back = ResizePlan::FromJson(plan.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), plan.ToJson());
}

TEST(ResizePlanTest, PatchCarriesOnlyTheChangedResources) {
  PodResize r;
  r.ns = "shop";
  r.name = "a";
  ResourceChange c;
  c.container = "app";
  c.resource = Resource::kMemory;
  c.old_request = 256 * Mi;
  c.new_request = 308 * Mi;
  c.old_limit = 512 * Mi;
  c.new_limit = 616 * Mi;
  r.changes.push_back(c);
  json want = json::parse(
      R"({"spec": {"containers": [{"name": "app", "resources": {"requests": {"memory": "308Mi"}, "limits": {"memory": "616Mi"}}}]}})");
  EXPECT_EQ(r.ResizePatch(), want);
}

TEST(ResizePlanTest, MalformedJournalIsAnErrorNotACrash) {
  EXPECT_FALSE(ResizePlan::FromJson(json::parse(R"({"resizes": [{"name": 3}], "handoffs": []})")).ok());
  EXPECT_FALSE(ResizePlan::FromJson(json::parse(R"([])")).ok());
  EXPECT_FALSE(Observation::FromJson(json::parse(R"({"pods": "x"})")).ok());
  EXPECT_FALSE(ChangeFromJson(json::parse(R"({"container": "a", "resource": "gpu", "direction": "up",
                                               "oldRequest": 1, "newRequest": 2})")).ok());
}

TEST(ResizeTemplateTest, LargestValuesPerWorkloadIntoTheTemplateOnce) {
  auto resize = [](const std::string& name, int64_t req, int64_t lim) {
    PodResize r;
    r.ns = "shop";
    r.name = name;
    ResourceChange c;
    c.container = "app";
    c.resource = Resource::kMemory;
    c.old_request = 256 * Mi;
    c.new_request = req;
    c.old_limit = 512 * Mi;
    c.new_limit = lim;
    r.changes.push_back(c);
    return r;
  };
  std::vector<PodResize> applied = {resize("a-1", 300 * Mi, 600 * Mi), resize("a-2", 320 * Mi, 640 * Mi),
                                    resize("bare", 400 * Mi, 800 * Mi)};
  std::map<std::string, std::string> owners = {{"shop/a-1", "Deployment/a"}, {"shop/a-2", "Deployment/a"},
                                               {"shop/bare", ""}};
  auto changes = TemplateChanges(applied, owners);
  ASSERT_EQ(changes.size(), 1u) << "a pod without a persistable owner is left out";
  EXPECT_EQ(changes[0].key(), "shop/Deployment/a");
  EXPECT_EQ(changes[0].containers.at("app").at("memory").request, 320 * Mi);
  EXPECT_EQ(changes[0].containers.at("app").at("memory").limit, 640 * Mi);
  json d = json::parse(R"({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
    {"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}},
    {"name": "side", "resources": {"requests": {"memory": "64Mi"}}}]}}}})");
  EXPECT_TRUE(ApplyToTemplate(changes[0], &d));
  const json& app = d["spec"]["template"]["spec"]["containers"][0]["resources"];
  EXPECT_EQ(app["requests"]["memory"], "320Mi");
  EXPECT_EQ(app["requests"]["cpu"], "100m");
  EXPECT_EQ(app["limits"]["memory"], "640Mi");
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][1]["resources"]["requests"]["memory"], "64Mi");
  EXPECT_FALSE(ApplyToTemplate(changes[0], &d)) << "a second apply changes nothing";
}

}  // namespace
}  // namespace kinema::resize
