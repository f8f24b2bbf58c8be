// Kill campaign for the inplace-resize kind: SIGKILL the controller between
// the resize step's intent and its first PATCH, right after a PATCH (before
// the annotation) and right after an annotation, restart it, and require:
// the workflow completes, every planned pod was PATCHed through pods/resize
// exactly once (the simulator's audit log), its spec holds the journaled new
// values, and its kinema.io/last-resize annotations match the journal
// (workflow id, observation time).
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <sstream>
#include <thread>

#include "engine/common/time.h"
#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::WaitProcess;

// PATCH pods/resize answered 2xx, per "ns/name".
std::map<std::string, int> ResizePatches(const E2eCluster& c, const std::string& resource = "pods/resize") {
  std::map<std::string, int> out;
  std::istringstream in(testing::ReadFile(c.File("audit.jsonl")));
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("verb", "") != "patch" || j.value("resource", "") != resource) continue;
    if (j.value("code", 0) / 100 != 2) continue;
    ++out[j.value("namespace", "") + "/" + j.value("name", "")];
  }
  return out;
}

bool WaitFor(const std::function<bool()>& cond, int timeout_ms) {
  for (int i = 0; i < timeout_ms / 100; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void KillAtAndResume(const std::string& point) {
  SCOPED_TRACE("kill at " + point);
  E2eOptions o;
  o.nodes = 6;
  o.scale = 1;
  o.time_scale = 1;
  o.prometheus = false;
  o.scenario_args = {"--resize"};
  o.lease = kKillCampaignLease;
  o.extra_config = "resize:\n  enabled: true\n  selector: \"app in (leaky,guaranteed)\"\n  verifyTimeout: 5s\n";
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  pid_t k = testing::StartProcess({"/usr/bin/env", "KINEMA_TEST_DELAY=" + point + ":2:60000", testing::BinPath("kinema"),
                                   "--config", c.config(), "--once", "--kind", "inplace-resize"},
                                  c.File("kinema-killed"));
  bool reached = false;
  if (point == "resize_before_patch") {
    // The resize step is current; its first pod sleeps in the hook (60 s) before its PATCH.
    reached = !c.WaitForCurrentStep("resize", 60000).empty();
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    EXPECT_TRUE(ResizePatches(c).empty()) << "no PATCH before the kill";
  } else if (point == "resize_patched") {
    reached = WaitFor([&] { return !ResizePatches(c).empty(); }, 60000);
  } else {
    reached = WaitFor([&] { return !ResizePatches(c, "pods").empty(); }, 60000);
  }
  ASSERT_TRUE(reached) << c.Logs();
  ::kill(k, SIGKILL);
  WaitProcess(k);
  const auto before_restart = ResizePatches(c);

  auto again = c.RunKinemaOnce({"--kind", "inplace-resize"});
  ASSERT_EQ(again.exit_code, 0) << again.err << c.Logs();

  json list = c.Kinemactl({"list", "--type", "inplace-resize"});
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u) << "the killed workflow is resumed, not replaced: " << list.dump();
  EXPECT_EQ(list[0]["status"], "completed");
  const std::string id = list[0]["id"];
  json show = c.Kinemactl({"show", id});
  json plan = show["steps"][1]["result"];
  ASSERT_TRUE(plan.contains("resizes")) << show.dump();
  ASSERT_GE(plan["resizes"].size(), 2u) << "leaky and guaranteed pods scale up at once";

  const auto patches = ResizePatches(c);
  for (const auto& r : plan["resizes"]) {
    const std::string key = r["namespace"].get<std::string>() + "/" + r["name"].get<std::string>();
    EXPECT_EQ(patches.count(key) ? patches.at(key) : 0, 1) << key << " PATCHed once (before the restart: "
                                                            << (before_restart.count(key) ? before_restart.at(key) : 0)
                                                            << ")";
    json pod = c.KubectlJson({"get", "pod", "-n", r["namespace"], r["name"]});
    ASSERT_TRUE(pod.is_object()) << key;
    const auto ann = pod["metadata"].value("annotations", json::object());
    EXPECT_EQ(ann.value("kinema.io/last-resize-workflow", ""), id) << key;
    EXPECT_EQ(ann.value("kinema.io/last-resize", ""), FormatRfc3339(r["observedMs"].get<int64_t>())) << key;
    for (const auto& ch : r["changes"]) {
      json ct;
      for (const auto& x : pod["spec"]["containers"]) {
        if (x["name"] == ch["container"]) ct = x;
      }
      const std::string got = ct["resources"]["requests"].value("memory", "");
      EXPECT_EQ(got, std::to_string(ch["newRequest"].get<int64_t>() / (1024 * 1024)) + "Mi") << key;
    }
  }
  json verify = c.Kinemactl({"verify"});
  EXPECT_EQ(verify.value("ok", false), true) << verify.dump();
}

TEST(ResizeKillTest, KillBetweenIntentAndPatchResizesOnce) { KillAtAndResume("resize_before_patch"); }
TEST(ResizeKillTest, KillAfterPatchBeforeAnnotationNeverPatchesTwice) { KillAtAndResume("resize_patched"); }
TEST(ResizeKillTest, KillAfterAnnotationNeverPatchesTwice) { KillAtAndResume("resize_annotated"); }

}  // namespace
}  // namespace kinema::e2e
