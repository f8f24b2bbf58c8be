// End to end (issue 13): the rollout stall breaker acts through the real code
// path, and its Pending clock survives a kill.
//
// kinema-sim runs a cluster whose plan moves a heavy Deployment (4.5-CPU
// pods) onto kept nodes. While the controller sleeps right after journaling
// the deployment-patch intent (KINEMA_TEST_DELAY), the test lets smaller
// pods ("squatters", an unrelated Deployment) take the room on every node a
// heavy pod could use — one squatter less would leave room for one heavy
// pod — and kills the controller. The restarted controller patches the
// heavy Deployment; its first new pod stays Pending; the stall clock is
// journaled; the test kills the controller again halfway through the stall
// timeout. The third process must act when the journaled clock says (not a
// whole timeout after its start): it evicts the pods that took the room on
// a node the plan gave the heavy Deployment (squatters, or pods the plan
// moves elsewhere anyway, which it prefers), the heavy pod lands there, and
// the iteration completes instead of failing. The journal (deployment-patch result,
// `kinemactl explain`) says which remedy acted; the Deployment carries the
// KinemaRolloutStalled Event. Once the stuck pod has landed the squatters
// go away (they hold room the rest of the plan needs).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;
using testing::WaitProcess;

constexpr int64_t kStallTimeoutMs = 15000;
constexpr int64_t kSquatterCpu = 1000;  // millicores per squatter pod

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "7910m" / "4" / "0.5" -> millicores; "64Mi" / "1Gi" / "123456Ki" / bytes -> bytes.
int64_t CpuMilli(const std::string& q) {
  if (q.empty()) return 0;
  if (q.back() == 'm') return std::atoll(q.c_str());
  return static_cast<int64_t>(std::atof(q.c_str()) * 1000 + 0.5);
}
int64_t Bytes(const std::string& q) {
  static const std::pair<const char*, int64_t> units[] = {{"Ki", 1LL << 10}, {"Mi", 1LL << 20}, {"Gi", 1LL << 30},
                                                          {"Ti", 1LL << 40}, {"k", 1000},       {"M", 1000000},
                                                          {"G", 1000000000}};
  for (const auto& [u, f] : units) {
    const size_t n = std::char_traits<char>::length(u);
    if (q.size() > n && q.compare(q.size() - n, n, u) == 0) return static_cast<int64_t>(std::atof(q.c_str()) * f);
  }
  return std::atoll(q.c_str());
}

struct Res {
  int64_t cpu = 0, mem = 0;
};

Res PodSpecRequests(const json& spec) {
  Res r;
  for (const auto& c : spec.value("containers", json::array())) {
    const json& req = c.value("resources", json::object()).value("requests", json::object());
    r.cpu += CpuMilli(req.value("cpu", ""));
    r.mem += Bytes(req.value("memory", ""));
  }
  return r;
}

// Free room per schedulable node without Kinema's retire mark.
std::map<std::string, Res> FreeRoom(const E2eCluster& c) {
  std::map<std::string, Res> free;
  json nodes = c.KubectlJson({"get", "nodes"});
  for (const auto& n : nodes.value("items", json::array())) {
    if (n["metadata"].value("labels", json::object()).contains("kinema.io/retire")) continue;
    if (n.value("spec", json::object()).value("unschedulable", false)) continue;
    const json& alloc = n["status"]["allocatable"];
    free[n["metadata"]["name"]] = {CpuMilli(alloc.value("cpu", "")), Bytes(alloc.value("memory", ""))};
  }
  json pods = c.KubectlJson({"get", "pods", "-A"});
  for (const auto& p : pods.value("items", json::array())) {
    auto it = free.find(p["spec"].value("nodeName", ""));
    const std::string phase = p.value("status", json::object()).value("phase", "");
    if (it == free.end() || phase == "Succeeded" || phase == "Failed") continue;
    Res r = PodSpecRequests(p["spec"]);
    it->second.cpu -= r.cpu;
    it->second.mem -= r.mem;
  }
  return free;
}

std::string SquatterManifest(const std::string& name, int replicas) {
  json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}, {"namespace", "shop"}, {"labels", {{"kinema-test", "squatter"}}}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", {{"app", name}}}}},
              // maxUnavailable 100%: losing a pod never puts it below its own
              // guarantee (the stall breaker may move one; the sim's
              // availability meter stays quiet while they start).
              {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", "100%"}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", name}}}}},
                {"spec",
                 {{"terminationGracePeriodSeconds", 0},
                  {"containers",
                   json::array({{{"name", "squat"},
                                 {"image", "registry.k8s.io/pause:3.9"},
                                 {"resources",
                                  {{"requests",
                                    {{"cpu", std::to_string(kSquatterCpu) + "m"}, {"memory", "64Mi"}}}}}}})}}}}}}}};
  return d.dump();
}

// kubectl apply -f - (stdin through a file).
bool Apply(const E2eCluster& c, const std::string& manifest, const std::string& file) {
  std::ofstream(c.File(file)) << manifest;
  return c.Kubectl({"apply", "-f", c.File(file)}).exit_code == 0;
}

int BoundPods(const E2eCluster& c, const std::string& app, const std::string& node) {
  json pods = c.KubectlJson({"get", "pods", "-n", "shop", "-l", "app=" + app});
  int n = 0;
  for (const auto& p : pods.value("items", json::array())) {
    n += p["spec"].value("nodeName", "") == node &&
         p.value("status", json::object()).value("phase", "") == "Running";
  }
  return n;
}

// Fills `node` with `k` squatters of one Deployment: the other schedulable
// nodes are cordoned meanwhile, so the scheduler has no other choice.
std::string Squat(const E2eCluster& c, const std::string& node, int k, const std::vector<std::string>& others,
                  const std::string& name) {
  for (const auto& o : others) {
    if (c.Kubectl({"cordon", o}).exit_code != 0) return "cordon " + o + " failed";
  }
  std::string err;
  if (!Apply(c, SquatterManifest(name, k), name + ".json")) err = "kubectl apply " + name + " failed";
  for (int i = 0; err.empty() && BoundPods(c, name, node) < k; ++i) {
    if (i > 300) err = name + ": " + std::to_string(k) + " squatters not running on " + node + " in 60 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const auto& o : others) {
    if (c.Kubectl({"uncordon", o}).exit_code != 0 && err.empty()) err = "uncordon " + o + " failed";
  }
  return err;
}

// The journaled events of `show` of a kind (and step, when given).
std::vector<json> EventsOf(const json& show, const std::string& kind, const std::string& step = "") {
  std::vector<json> out;
  if (!show.is_object()) return out;
  for (const auto& e : show.value("events", json::array())) {
    if (e.value("kind", "") != kind) continue;
    if (!step.empty() && !(e["step"].is_string() && e["step"] == step)) continue;
    out.push_back(e);
  }
  return out;
}

// The step_intent of deployment-patch, null until journaled.
json MoveIntent(const json& show) { return JournaledIntent(show, "deployment-patch"); }

// The stall clocks journaled: timer name -> deadline (ms).
std::map<std::string, int64_t> StallTimers(const json& show) {
  std::map<std::string, int64_t> out;
  for (const auto& e : EventsOf(show, "timer_set", "deployment-patch")) {
    const std::string name = e["detail"].value("name", "");
    if (name.rfind("stall ", 0) == 0) out[name] = e["detail"].value("deadlineMs", int64_t{0});
  }
  return out;
}

pid_t StartController(const E2eCluster& c, const char* delay) {
  if (delay != nullptr) ::setenv("KINEMA_TEST_DELAY", delay, 1);
  pid_t p = c.StartKinema({"--once"}, "kinema");
  ::unsetenv("KINEMA_TEST_DELAY");
  return p;
}

TEST(StallBreakerTest, MovesThePodThatTookThePlannedRoomAtTheJournaledTimeAcrossAKill) {
  const auto started = std::chrono::steady_clock::now();
  E2eOptions o;
  // 8 e2-standard-16 nodes, one heavy service (5 pods of 4.5 CPU on the
  // first five nodes): the plan keeps two nodes, packs the heavy pods onto
  // them and retires the rest.
  o.nodes = 8;
  o.scale = 1;
  o.scenario_args = {"--heavy", "1", "--type", "e2-standard-16"};
  o.stall_timeout = std::to_string(kStallTimeoutMs / 1000) + "s";
  // One rollout at a time: the heavy Deployment's wave-mates (small pods
  // rolling beside it) would take the room as well, as several pods no
  // single eviction undoes; here exactly the squatters take it.
  o.rollout_max_concurrent = 1;
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before = c.Report();

  // 1. Run until deployment-patch has journaled its intent (the plan's
  //    steering), then hold the controller there.
  pid_t k1 = StartController(c, "after_intent:6:600000");
  json intent;
  for (int i = 0; i < 1200 && intent.is_null(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    json show = ShowLatest(c);
    ASSERT_FALSE(show.is_object() && show.value("status", "") != "running")
        << "the iteration ended before moving pods: " << show.dump().substr(0, 3000);
    intent = MoveIntent(show);
  }
  ASSERT_TRUE(intent.is_object()) << "no deployment-patch intent within 240 s" << c.Logs();
  ASSERT_TRUE(intent.contains("order") && !intent["order"].empty()) << intent.dump();
  const std::string heavy = intent["order"][0];
  ASSERT_EQ(heavy.rfind("web/heavy-", 0), 0u) << "the heavy Deployment moves first: " << intent.dump();
  std::set<std::string> planned;
  for (const auto& n : intent["steering"].value(heavy, json::array())) planned.insert(n.get<std::string>());
  ASSERT_FALSE(planned.empty()) << intent.dump();

  // 2. Squatters take the room on every node where a heavy pod fits.
  json hd = c.KubectlJson({"get", "deployment", "-n", "web", heavy.substr(4)});
  ASSERT_TRUE(hd.is_object());
  const Res need = PodSpecRequests(hd["spec"]["template"]["spec"]);
  ASSERT_GT(need.cpu, 2 * kSquatterCpu);
  std::map<std::string, Res> free = FreeRoom(c);
  std::vector<std::string> schedulable;
  for (const auto& [n, r] : free) schedulable.push_back(n);
  int squatted_planned = 0, index = 0;
  for (const auto& [node, room] : free) {
    if (room.cpu < need.cpu || room.mem < need.mem) continue;
    // One squatter less leaves exactly enough room for one heavy pod.
    const int k = static_cast<int>((room.cpu - need.cpu) / kSquatterCpu) + 1;
    ASSERT_GE(k, 2) << node << ": the scenario should leave room for more than one squatter";
    std::vector<std::string> others;
    for (const auto& n : schedulable) {
      if (n != node) others.push_back(n);
    }
    std::string e = Squat(c, node, k, others, "squat-" + std::to_string(index++));
    ASSERT_EQ(e, "") << e << c.Logs();
    squatted_planned += planned.count(node);
  }
  ASSERT_GT(squatted_planned, 0) << "the heavy pods' planned nodes had room to take";
  for (const auto& [node, room] : FreeRoom(c)) {
    std::printf("after squatting: %s %lldm / %lld Mi free%s\n", node.c_str(), static_cast<long long>(room.cpu),
                static_cast<long long>(room.mem >> 20), planned.count(node) ? " (planned)" : "");
    EXPECT_FALSE(room.cpu >= need.cpu && room.mem >= need.mem) << node << " still has room for a heavy pod";
  }

  // 3. Kill the held controller; the next one patches the heavy Deployment,
  //    whose first new pod stays Pending: its clock is journaled.
  KillProcess(k1);
  pid_t k2 = StartController(c, nullptr);
  std::map<std::string, int64_t> clocks;
  for (int i = 0; i < 600 && clocks.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    clocks = StallTimers(ShowLatest(c));
  }
  ASSERT_EQ(clocks.size(), 1u) << "one stuck pod's clock journaled" << c.Logs();
  const std::string clock_name = clocks.begin()->first;
  const int64_t due = clocks.begin()->second;
  ASSERT_EQ(clock_name.rfind("stall " + heavy.substr(0, heavy.size()), 0), 0u) << clock_name;

  // 4. Kill it again 6 s into the 15 s wait; a third process takes over
  //    (after the killed one's 4 s lease).
  const int64_t first_seen = due - kStallTimeoutMs;
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(0, first_seen + 6000 - NowMs())));
  ASSERT_LT(NowMs(), due - 4000) << "the test itself was too slow to kill within the stall timeout";
  KillProcess(k2);
  const int64_t restarted = NowMs();
  pid_t k3 = StartController(c, nullptr);

  // 5. The breaker's Event says which pod was stuck and where it made room
  //    (the first act: later ones may follow for the heavy Deployment's
  //    last pods, whose planned room pods of later rollouts still hold);
  //    the stuck pod lands there; then the squatters leave.
  std::string pending_pod, room_node;
  for (int i = 0; i < 600 && pending_pod.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    json events = c.KubectlJson({"get", "events", "-n", "web"});
    for (const auto& e : events.value("items", json::array())) {
      if (e.value("reason", "") != "KinemaRolloutStalled" || !pending_pod.empty()) continue;
      const std::string msg = e.value("message", "");
      const std::string pod_tag = "pod ", room_tag = "make room on ";
      size_t a = msg.find(pod_tag), b = msg.find(" Pending"), r = msg.find(room_tag);
      if (a == 0 && b != std::string::npos && r != std::string::npos) {
        pending_pod = msg.substr(a + pod_tag.size(), b - a - pod_tag.size());
        room_node = msg.substr(r + room_tag.size());
      } else {
        std::string diag;
        for (const auto& [n, r] : FreeRoom(c)) diag += n + ": " + std::to_string(r.cpu) + "m free\n";
        for (const auto& n : planned) {
          diag += c.Kubectl({"get", "pods", "-A", "-o", "wide", "--field-selector", "spec.nodeName=" + n}).out;
        }
        ADD_FAILURE() << "the stall breaker did not act: " << msg << "\n" << diag;
        pending_pod = "?";
      }
    }
  }
  ASSERT_FALSE(pending_pod.empty()) << "no KinemaRolloutStalled Event within 120 s" << c.Logs();
  ASSERT_NE(pending_pod, "?");
  EXPECT_TRUE(planned.count(room_node)) << room_node << " is not a node the plan gave " << heavy;
  std::string landed;
  for (int i = 0; i < 300 && landed.empty(); ++i) {
    json p = c.KubectlJson({"get", "pod", "-n", "web", pending_pod.substr(4)});
    if (p.is_object()) landed = p["spec"].value("nodeName", "");
    if (landed.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(landed, room_node) << pending_pod << " landed in the room the breaker made";
  ASSERT_EQ(c.Kubectl({"delete", "deployment", "-n", "shop", "-l", "kinema-test=squatter"}).exit_code, 0);

  // 6. The iteration completes.
  const int rc = WaitProcess(k3);
  ASSERT_EQ(rc, 0) << c.Logs();
  json show = ShowLatest(c);
  ASSERT_EQ(show.value("status", ""), "completed") << show.dump().substr(0, 3000);
  EXPECT_TRUE(show["outcome"].is_null()) << show.dump().substr(0, 2000);
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);

  // The journal says which remedy acted, for which pod, where.
  const json* move = StepResult(show, "deployment-patch");
  ASSERT_NE(move, nullptr);
  ASSERT_TRUE(move->contains("stallBreaks") && !(*move)["stallBreaks"].empty()) << move->dump();
  const json& act = (*move)["stallBreaks"][0];
  EXPECT_EQ(act["deployment"], heavy);
  EXPECT_EQ(act["pendingPod"], pending_pod);
  EXPECT_EQ(act["action"], "evicted") << act.dump();
  // The pods that took the room: squatters, or pods the plan moves
  // elsewhere anyway (the breaker prefers those).
  ASSERT_TRUE(act["pods"].is_array() && !act["pods"].empty()) << act.dump();
  EXPECT_EQ(act["pod"], act["pods"][0]);
  EXPECT_EQ(act["node"], room_node);
  // The clock survived both kills: one clock for the pod, journaled before
  // the second kill; the act came when it said, not a whole timeout after
  // the restart.
  std::map<std::string, int64_t> timers = StallTimers(show);
  EXPECT_EQ(timers.count(clock_name), 1u);
  int clocks_of_pod = 0;
  for (const auto& [name, at] : timers) {
    clocks_of_pod += name.find(pending_pod) != std::string::npos && name.find(" act ") == std::string::npos &&
                     name.find(" gave up") == std::string::npos;
  }
  EXPECT_EQ(clocks_of_pod, 1) << "one Pending clock for " << pending_pod;
  auto act1 = timers.find(clock_name + " act 1");
  ASSERT_NE(act1, timers.end()) << "the act is journaled";
  const int64_t acted_at = act1->second - kStallTimeoutMs;
  EXPECT_GE(acted_at, due) << "the breaker waited the stall timeout";
  EXPECT_LT(acted_at, restarted + kStallTimeoutMs) << "the restart did not start the clock over (acted "
                                                     << acted_at - due << " ms after it was due)";
  // kinemactl explain shows the breaker's action.
  json explain = c.Kinemactl({"explain", show["id"]});
  ASSERT_TRUE(explain.is_object());
  ASSERT_TRUE(explain.contains("rollouts")) << explain.dump().substr(0, 2000);
  EXPECT_EQ(explain["rollouts"]["stallBreaks"][0]["action"], "evicted") << explain["rollouts"].dump();
  EXPECT_NE(explain.value("summary", "").find("Stall breaker"), std::string::npos) << explain.dump().substr(0, 2000);
  auto table = RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "explain", show["id"]});
  EXPECT_NE(table.out.find(act["pod"].get<std::string>()), std::string::npos) << table.out;
  // The cluster: the plan's cost, nothing harmed, nothing left Pending.
  const json& plan = (*StepResult(show, "optimization"))["plan"];
  json after = c.Report();
  ExpectNoHarm(after);
  EXPECT_EQ(c.RoomHoldsLeft(), std::vector<std::string>{}) << "room holds left behind";
  for (int i = 0; i < 100 && after["pendingPods"] != 0; ++i) {  // squatters' last pods going away
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    after = c.Report();
  }
  EXPECT_EQ(after["pendingPods"], 0) << after.dump();
  EXPECT_NEAR(after["costPerHour"].get<double>(), plan["costPerHourAfter"].get<double>(), 1e-3);
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>());
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("stall breaker: %s Pending, moved %s off %s %.1f s after it was due (restart %.1f s before due); "
              "%zu act(s) in all; %.0f s wall\n",
              pending_pod.c_str(), act["pods"].dump().c_str(), room_node.c_str(), (acted_at - due) / 1000.0,
              (due - restarted) / 1000.0, (*move)["stallBreaks"].size(), secs);
}

}  // namespace
}  // namespace kinema::e2e
