#include "steps/spot/spot_plan.h"

#include <algorithm>
#include <map>

#include "engine/kube/object.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/disruption_policy.h"

namespace kinema::spot {

using nlohmann::json;

const char* NodeActionName(NodeAction a) {
  switch (a) {
    case NodeAction::kDrain: return "drain";
    case NodeAction::kEligible: return "eligible";
    case NodeAction::kSkip: return "skip";
    case NodeAction::kFill: return "fill";
    case NodeAction::kIgnore: return "ignore";
  }
  return "ignore";
}

namespace {

const json& RawItem(const json& list, int index) {
  static const json kNull;
  if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) return kNull;
  if (index < 0 || static_cast<size_t>(index) >= list["items"].size()) return kNull;
  return list["items"][static_cast<size_t>(index)];
}

bool HasRetireLabel(const SnapshotNode& n) { return n.labels.count("kinema.io/retire") > 0; }

// Spot nodes that may receive pods, most free CPU first (then name).
// A node whose object says it is not Ready (a preempted spot node goes
// NotReady before it is removed). Nodes without conditions count as Ready.
bool NotReady(const json& list, const SnapshotNode& n) {
  const json& raw = RawItem(list, n.item_index);
  if (!raw.is_object() || !raw.contains("status") || !raw["status"].is_object() ||
      !raw["status"].contains("conditions")) {
    return false;
  }
  return !kube::node::IsReady(raw);
}

std::vector<int> FillOrder(const Snapshot& snap, const json& list, const NodeFitter& fitter,
                           const std::vector<NodeClass>& classes) {
  std::vector<int> out;
  for (size_t j = 0; j < snap.nodes.size(); ++j) {
    const auto& n = snap.nodes[j];
    if (classes[j] == NodeClass::kSpot && !n.unschedulable && !HasRetireLabel(n) && !NotReady(list, n)) {
      out.push_back(static_cast<int>(j));
    }
  }
  std::stable_sort(out.begin(), out.end(), [&](int a, int b) {
    int64_t fa = fitter.Free(a).cpu_milli, fb = fitter.Free(b).cpu_milli;
    if (fa != fb) return fa > fb;
    return snap.nodes[a].name < snap.nodes[b].name;
  });
  return out;
}

std::vector<NodeClass> Classify(const Snapshot& snap, const NodeClassRules& rules, std::vector<std::string>* why) {
  std::vector<NodeClass> out;
  for (const auto& n : snap.nodes) {
    std::string w;
    out.push_back(ClassifyNode(n.labels, rules, &w));
    if (why) why->push_back(w);
  }
  return out;
}

std::map<std::string, std::vector<const SnapshotPod*>> PodsByNode(const Snapshot& snap) {
  std::map<std::string, std::vector<const SnapshotPod*>> out;
  for (const auto& p : snap.pods) {
    if (!p.node_name.empty()) out[p.node_name].push_back(&p);
  }
  return out;
}

// Decides one on-demand node: fills `pn` (action, reason, placements) and
// promises the placements in `fitter` when it is drainable.
void PlanOnDemandNode(const Snapshot& snap, const json& list, const PlanInputs& in, const SnapshotNode& node,
                      const std::vector<const SnapshotPod*>& pods, const std::vector<int>& fill, NodeFitter* fitter,
                      PlannedNode* pn) {
  pn->action = NodeAction::kSkip;
  if (node.pinned) {
    pn->reason = "node is pinned (kinema.io/do-not-disrupt)";
    return;
  }
  if (HasRetireLabel(node)) {
    pn->reason = "node is being retired by workflow " + node.labels.at("kinema.io/retire");
    return;
  }
  if (node.unschedulable) {
    pn->reason = "node is cordoned (spec.unschedulable)";
    return;
  }
  for (const SnapshotPod* p : pods) {
    std::string why = WhyPodMustStay(*p, RawItem(list, p->item_index), in);
    if (!why.empty()) {
      pn->reason = "pod " + p->FullName() + " must stay: " + why;
      return;
    }
  }
  if (pods.empty()) {
    if (in.delete_after_drain) {
      pn->action = NodeAction::kDrain;
      pn->reason = "no pods to move (only DaemonSet pods): the node can go";
    } else {
      pn->reason = "no pods to move (only DaemonSet pods); afterDrain is keep";
    }
    return;
  }
  if (fill.empty()) {
    pn->reason = "no spot node can receive pods";
    return;
  }
  NodeFitter::Assignment a = fitter->PlaceAll(pods, fill);
  if (!a.all_fit) {
    pn->reason = "pod " + a.first_misfit->FullName() + " " + a.why;
    return;
  }
  pn->action = NodeAction::kDrain;
  pn->reason = "all " + std::to_string(pods.size()) + " pod(s) fit on spot nodes";
  for (const auto& [p, j] : a.placements) pn->placements.push_back({p->FullName(), snap.nodes[j].name});
}

// Writes spot.bootSpot's decision into the plan: the node to empty into the
// new spot node is drained (every pod placed on it); the others considered
// carry why no node is booted for them.
void ApplyBootDecision(SpotBootDecision d, SpotPlan* plan) {
  for (auto& pn : plan->nodes) {
    if (d.boot && pn.name == d.boot->node) {
      pn.action = NodeAction::kDrain;
      pn.reason = d.boot->reason + " (spot.bootSpot)";
      pn.placements.clear();
      for (const auto& p : d.boot->pods) pn.placements.push_back({p, kBootPlannedName});
      continue;
    }
    for (const auto& c : d.considered) {
      if (c.node == pn.name) pn.reason += "; spot.bootSpot: " + c.why;
    }
  }
  plan->boot = std::move(d.boot);
  plan->boot_skipped = std::move(d.why_not);
}

}  // namespace

std::string WhyPodMustStay(const SnapshotPod& pod, const json& raw, const PlanInputs& in) {
  if (!pod.movable) return pod.immovable_reason;
  if (raw.is_object()) {
    std::string why = execute::WhyPodCannotMove(raw, in.now_ms);
    if (!why.empty()) return why;
  }
  for (const auto& ns : in.excluded_namespaces) {
    if (ns == pod.namespace_) return "namespace " + ns + " is excluded (exclusions.namespaces)";
  }
  if (in.excluded_pods && in.excluded_pods->Matches(pod.labels)) {
    return "matches exclusions.labelSelector " + in.excluded_pods->text;
  }
  return "";
}

SpotPlan PlanSpotCycle(const Snapshot& snap, const json& list, const PlanInputs& in) {
  SpotPlan plan;
  std::vector<std::string> class_why;
  std::vector<NodeClass> classes = Classify(snap, in.rules, &class_why);
  NodeFitter fitter(snap);
  auto by_node = PodsByNode(snap);

  std::string first_pending;
  for (const auto& p : snap.pods) {
    if (p.node_name.empty()) {
      if (plan.pending_pods++ == 0) first_pending = p.FullName();
    }
  }
  if (plan.pending_pods > 0) {
    plan.blocked = std::to_string(plan.pending_pods) + " pod(s) Pending (e.g. " + first_pending +
                   "): no drain while pods wait to be scheduled";
  }

  std::vector<int> fill = FillOrder(snap, list, fitter, classes);
  std::vector<int> on_demand;
  for (size_t j = 0; j < snap.nodes.size(); ++j) {
    if (classes[j] == NodeClass::kOnDemand) on_demand.push_back(static_cast<int>(j));
  }
  std::stable_sort(on_demand.begin(), on_demand.end(), [&](int a, int b) {
    int64_t ra = fitter.Requested(a).cpu_milli, rb = fitter.Requested(b).cpu_milli;
    if (ra != rb) return ra < rb;
    return snap.nodes[a].name < snap.nodes[b].name;
  });

  // Spot-tolerant pods on on-demand nodes (the gauge): movable pods that a
  // spot node accepts by its labels and taints — any spot node of the
  // cluster, usable now or not; with none (all preempted), a new spot node
  // as the catalog describes it (SpotNodeShape).
  std::vector<std::pair<Labels, std::vector<Taint>>> spot_shapes;
  for (size_t j = 0; j < snap.nodes.size(); ++j) {
    if (classes[j] == NodeClass::kSpot) spot_shapes.emplace_back(snap.nodes[j].labels, snap.nodes[j].taints);
  }
  if (spot_shapes.empty() && in.catalog) spot_shapes.push_back(SpotNodeShape(*in.catalog));
  const std::string shape_name = "spot";
  for (int j : on_demand) {
    for (const SnapshotPod* p : by_node[snap.nodes[j].name]) {
      if (!p->movable) continue;
      for (const auto& [labels, taints] : spot_shapes) {
        NodeView v{&shape_name, &labels, &taints};
        if (NodeAccepts(p->constraints, v)) {
          ++plan.spot_tolerant_on_demand_pods;
          break;
        }
      }
    }
  }

  int drains = 0;
  for (int j : on_demand) {
    const SnapshotNode& n = snap.nodes[j];
    PlannedNode pn;
    pn.name = n.name;
    pn.node_class = NodeClass::kOnDemand;
    pn.class_reason = class_why[j];
    pn.requested_cpu_milli = fitter.Requested(j).cpu_milli;
    pn.free_cpu_milli = fitter.Free(j).cpu_milli;
    if (!plan.blocked.empty()) {
      pn.action = NodeAction::kSkip;
      pn.reason = plan.blocked;
    } else {
      PlanOnDemandNode(snap, list, in, n, by_node[n.name], fill, &fitter, &pn);
      if (pn.action == NodeAction::kDrain && drains >= in.max_nodes) {
        pn.action = NodeAction::kEligible;
        pn.reason += "; beyond spot.maxNodesPerCycle (" + std::to_string(in.max_nodes) + ") this cycle";
      }
      if (pn.action == NodeAction::kDrain) ++drains;
    }
    plan.nodes.push_back(std::move(pn));
  }
  for (int j : fill) {
    PlannedNode pn;
    pn.name = snap.nodes[j].name;
    pn.node_class = NodeClass::kSpot;
    pn.class_reason = class_why[j];
    pn.action = NodeAction::kFill;
    pn.requested_cpu_milli = fitter.Requested(j).cpu_milli;
    pn.free_cpu_milli = fitter.Free(j).cpu_milli;
    pn.reason = "spot capacity";
    plan.nodes.push_back(std::move(pn));
  }
  for (size_t j = 0; j < snap.nodes.size(); ++j) {
    if (classes[j] == NodeClass::kOnDemand) continue;
    if (std::find(fill.begin(), fill.end(), static_cast<int>(j)) != fill.end()) continue;
    PlannedNode pn;
    pn.name = snap.nodes[j].name;
    pn.node_class = classes[j];
    pn.class_reason = class_why[j];
    pn.action = NodeAction::kIgnore;
    pn.reason = classes[j] == NodeClass::kSpot ? "spot node cordoned, not Ready or being retired" : class_why[j];
    plan.nodes.push_back(std::move(pn));
  }
  if (in.boot_spot) ApplyBootDecision(PlanSpotBoot(snap, list, plan, in), &plan);
  return plan;
}

std::string RecheckDrain(const Snapshot& snap, const json& list, const std::string& node,
                         const NodeClassRules& rules) {
  std::vector<NodeClass> classes = Classify(snap, rules, nullptr);
  NodeFitter fitter(snap);
  std::vector<int> fill = FillOrder(snap, list, fitter, classes);
  // Pending pods first: wherever they fit on spot they will take the room.
  for (const auto& p : snap.pods) {
    if (!p.node_name.empty()) continue;
    for (int j : fill) {
      if (fitter.Fits(p, j)) {
        fitter.Place(p, j);
        break;
      }
    }
  }
  std::vector<const SnapshotPod*> left;
  for (const auto& p : snap.pods) {
    if (p.node_name != node) continue;
    const json& raw = RawItem(list, p.item_index);
    if (raw.is_object() && kube::obj::IsTerminating(raw)) continue;
    left.push_back(&p);
  }
  if (left.empty()) return "";
  if (fill.empty()) return "no spot node can receive pods now";
  NodeFitter::Assignment a = fitter.PlaceAll(left, fill);
  if (a.all_fit) return "";
  return "pod " + a.first_misfit->FullName() + " " + a.why + " (now)";
}

std::vector<const PlannedNode*> SpotPlan::Candidates() const {
  std::vector<const PlannedNode*> out;
  for (NodeAction want : {NodeAction::kDrain, NodeAction::kEligible}) {
    for (const auto& n : nodes) {
      if (n.action == want) out.push_back(&n);
    }
  }
  return out;
}

const PlannedNode* SpotPlan::Find(const std::string& name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::vector<std::string> SpotPlan::OnDemandNodes() const {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    if (n.node_class == NodeClass::kOnDemand) out.push_back(n.name);
  }
  return out;
}

json SpotPlan::ToJson() const {
  json a = json::array();
  for (const auto& n : nodes) {
    json e = {{"name", n.name},
              {"class", NodeClassName(n.node_class)},
              {"classReason", n.class_reason},
              {"action", NodeActionName(n.action)},
              {"reason", n.reason},
              {"requestedCpuMilli", n.requested_cpu_milli},
              {"freeCpuMilli", n.free_cpu_milli}};
    if (!n.placements.empty()) {
      json p = json::array();
      for (const auto& x : n.placements) p.push_back({{"pod", x.pod}, {"to", x.to}});
      e["placements"] = p;
    }
    a.push_back(e);
  }
  json out = {{"nodes", a}, {"pendingPods", pending_pods}, {"spotTolerantOnDemandPods", spot_tolerant_on_demand_pods}};
  if (!blocked.empty()) out["blocked"] = blocked;
  if (boot) out["boot"] = boot->ToJson();
  if (!boot_skipped.empty()) out["bootSkipped"] = boot_skipped;
  return out;
}

StatusOr<SpotPlan> SpotPlan::FromJson(const json& j) {
  return DecodeJson<SpotPlan>("spot plan", [&]() -> StatusOr<SpotPlan> {
    SpotPlan p;
    for (const auto& e : j.at("nodes")) {
      PlannedNode n;
      n.name = e.at("name").get<std::string>();
      std::string cls = e.value("class", std::string("other"));
      for (NodeClass c : {NodeClass::kOnDemand, NodeClass::kSpot, NodeClass::kOther}) {
        if (cls == NodeClassName(c)) n.node_class = c;
      }
      n.class_reason = e.value("classReason", std::string());
      std::string action = e.at("action").get<std::string>();
      bool known = false;
      for (NodeAction a : {NodeAction::kDrain, NodeAction::kEligible, NodeAction::kSkip, NodeAction::kFill,
                           NodeAction::kIgnore}) {
        if (action == NodeActionName(a)) {
          n.action = a;
          known = true;
        }
      }
      if (!known) return Status::InvalidArgument("spot plan: node " + n.name + ": unknown action '" + action + "'");
      n.reason = e.value("reason", std::string());
      n.requested_cpu_milli = e.value("requestedCpuMilli", int64_t{0});
      n.free_cpu_milli = e.value("freeCpuMilli", int64_t{0});
      for (const auto& x : e.value("placements", json::array())) {
        n.placements.push_back({x.at("pod").get<std::string>(), x.at("to").get<std::string>()});
      }
      p.nodes.push_back(std::move(n));
    }
    p.pending_pods = j.value("pendingPods", 0);
    p.spot_tolerant_on_demand_pods = j.value("spotTolerantOnDemandPods", 0);
    p.blocked = j.value("blocked", std::string());
    if (j.contains("boot")) {
      auto b = SpotBootPlan::FromJson(j["boot"]);
      if (!b.ok()) return b.status();
      p.boot = std::move(*b);
    }
    p.boot_skipped = j.value("bootSkipped", std::string());
    return p;
  });
}

}  // namespace kinema::spot
