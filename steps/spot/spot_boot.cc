#include "steps/spot/spot_boot.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "engine/workflow/typed_result.h"
#include "steps/optimize/fit_check.h"
#include "steps/spot/spot_plan.h"

namespace kinema::spot {

using nlohmann::json;

namespace {

std::string Dollars(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.4f/h", v);
  return buf;
}

const json& RawPod(const json& list, int index) {
  static const json kNull;
  if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) return kNull;
  if (index < 0 || static_cast<size_t>(index) >= list["items"].size()) return kNull;
  return list["items"][static_cast<size_t>(index)];
}

// A new spot node of `mt` in `zone`, as node-boot would register it.
SnapshotNode VirtualSpotNode(const Catalog& catalog, const MachineType& mt, const std::string& zone) {
  SnapshotNode n;
  n.name = kBootPlannedName;
  auto [spot_labels, spot_taints] = SpotNodeShape(catalog);
  n.labels = mt.labels;
  n.labels["node.kubernetes.io/instance-type"] = mt.name;
  n.labels["topology.kubernetes.io/zone"] = zone;
  n.labels["kubernetes.io/hostname"] = kBootPlannedName;
  for (const auto& [k, v] : spot_labels) n.labels[k] = v;
  n.instance_type = mt.name;
  n.zone = zone;
  n.capacity_type = CapacityType::kSpot;
  n.taints = mt.taints;
  n.taints.insert(n.taints.end(), spot_taints.begin(), spot_taints.end());
  n.allocatable = mt.allocatable;
  return n;
}

struct Offer {
  const MachineType* type;
  std::string zone;
  double price;
};

// Every spot offer of the catalog, cheapest first (then type name, `home`
// zone first, then zone name).
std::vector<Offer> SpotOffers(const Catalog& catalog, const std::vector<std::string>& zones, const std::string& home) {
  std::vector<Offer> out;
  for (const auto& mt : catalog.machine_types) {
    if (!mt.price_spot) continue;
    for (const auto& z : mt.zones) {
      if (!zones.empty() && std::find(zones.begin(), zones.end(), z) == zones.end()) continue;
      out.push_back({&mt, z, *mt.price_spot});
    }
  }
  std::stable_sort(out.begin(), out.end(), [&](const Offer& a, const Offer& b) {
    if (a.price != b.price) return a.price < b.price;
    if (a.type->name != b.type->name) return a.type->name < b.type->name;
    if ((a.zone == home) != (b.zone == home)) return a.zone == home;
    return a.zone < b.zone;
  });
  return out;
}

// Decides one on-demand node: "" and *boot set when a spot node should be
// booted for it, else why not.
std::string DecideNode(const Snapshot& snap, const json& list, const PlanInputs& in, int node_index,
                       SpotBootPlan* boot) {
  const SnapshotNode& node = snap.nodes[node_index];
  if (node.pinned) return "node is pinned (kinema.io/do-not-disrupt)";
  if (node.unschedulable) return "node is cordoned";
  if (node.labels.count("kinema.io/retire")) return "node is being retired";
  std::vector<int> pod_indexes;
  for (size_t i = 0; i < snap.pods.size(); ++i) {
    const SnapshotPod& p = snap.pods[i];
    if (p.node_name != node.name) continue;
    std::string why = WhyPodMustStay(p, RawPod(list, p.item_index), in);
    if (!why.empty()) return "pod " + p.FullName() + " must stay: " + why;
    pod_indexes.push_back(static_cast<int>(i));
  }
  if (pod_indexes.empty()) return "no pods to move";
  auto od_price = in.catalog->Price(node.instance_type, CapacityType::kOnDemand);
  if (!od_price) {
    return "its type " + (node.instance_type.empty() ? std::string("(unlabelled)") : node.instance_type) +
           " has no on-demand price in the catalog";
  }
  // One copy of the snapshot with a slot for the new node; the fitter is
  // rebuilt per offer (DaemonSet overhead depends on labels and taints).
  Snapshot with_new = snap;
  with_new.nodes.push_back(SnapshotNode{});
  const int slot = static_cast<int>(with_new.nodes.size()) - 1;
  std::vector<const SnapshotPod*> pods;
  for (int i : pod_indexes) pods.push_back(&with_new.pods[i]);
  std::string first_misfit;
  for (const Offer& o : SpotOffers(*in.catalog, in.zones, node.zone)) {
    with_new.nodes[slot] = VirtualSpotNode(*in.catalog, *o.type, o.zone);
    std::string class_why;
    if (ClassifyNode(with_new.nodes[slot].labels, in.rules, &class_why) != NodeClass::kSpot) {
      return "a new spot node would not be spot to these rules (" + class_why + ")";
    }
    NodeFitter fitter(with_new);
    NodeFitter::Assignment a = fitter.PlaceAll(pods, {slot});
    if (!a.all_fit) {
      if (first_misfit.empty()) {
        first_misfit = "on a new spot " + o.type->name + ": pod " + a.first_misfit->FullName() + " " + a.why;
      }
      continue;
    }
    if (o.price >= *od_price) {
      return "the cheapest spot type that holds its pods, " + o.type->name + " (" + Dollars(o.price) +
             "), costs no less than the node (" + node.instance_type + " on-demand, " + Dollars(*od_price) + ")";
    }
    boot->node = node.name;
    boot->machine_type = o.type->name;
    boot->zone = o.zone;
    boot->price_per_hour = o.price;
    boot->replaced_price_per_hour = *od_price;
    for (const SnapshotPod* p : pods) boot->pods.push_back(p->FullName());
    boot->reason = "no spot room for its " + std::to_string(pods.size()) + " pod(s); all fit on a new spot " +
                   o.type->name + " in " + o.zone + " (" + Dollars(o.price) + ", the cheapest that holds them) " +
                   "instead of " + node.instance_type + " on-demand (" + Dollars(*od_price) + ")";
    return "";
  }
  if (first_misfit.empty()) return "the catalog has no spot offer" + std::string(in.zones.empty() ? "" : " in cloud.zones");
  return "its pods fit on no single new spot node, e.g. " + first_misfit;
}

}  // namespace

std::pair<Labels, std::vector<Taint>> SpotNodeShape(const Catalog& catalog) {
  Labels labels{{"cloud.google.com/gke-spot", "true"}, {"kinema.io/capacity-type", "spot"}};
  for (const auto& [k, v] : catalog.spot_labels) labels[k] = v;
  return {labels, catalog.spot_taints};
}

SpotBootDecision PlanSpotBoot(const Snapshot& snap, const json& list, const SpotPlan& plan, const PlanInputs& in) {
  SpotBootDecision d;
  if (!in.boot_spot) return d;
  if (!in.catalog) {
    d.why_not = "spot.bootSpot: no catalog is loaded";
    return d;
  }
  if (!plan.blocked.empty()) {
    d.why_not = "spot.bootSpot: " + plan.blocked;
    return d;
  }
  if (!plan.Candidates().empty()) {
    d.why_not = "spot.bootSpot: not needed, spot capacity has room for " + plan.Candidates().front()->name;
    return d;
  }
  for (const auto& pn : plan.nodes) {
    if (pn.node_class != NodeClass::kOnDemand) continue;
    int j = snap.FindNode(pn.name);
    if (j < 0) continue;
    SpotBootPlan boot;
    std::string why = DecideNode(snap, list, in, j, &boot);
    if (why.empty()) {
      d.boot = std::move(boot);
      return d;
    }
    d.considered.push_back({pn.name, why});
  }
  d.why_not = d.considered.empty()
                  ? "spot.bootSpot: no on-demand node"
                  : "spot.bootSpot: no on-demand node gains from a new spot node, e.g. " + d.considered.front().node +
                        ": " + d.considered.front().why;
  return d;
}

json SpotBootPlan::ToJson() const {
  return {{"node", node},
          {"machineType", machine_type},
          {"zone", zone},
          {"capacityType", "spot"},
          {"planned", kBootPlannedName},
          {"pricePerHour", price_per_hour},
          {"replacedPricePerHour", replaced_price_per_hour},
          {"pods", pods},
          {"reason", reason}};
}

StatusOr<SpotBootPlan> SpotBootPlan::FromJson(const json& j) {
  return DecodeJson<SpotBootPlan>("spot boot plan", [&]() -> StatusOr<SpotBootPlan> {
    SpotBootPlan b;
    b.node = j.at("node").get<std::string>();
    b.machine_type = j.at("machineType").get<std::string>();
    b.zone = j.at("zone").get<std::string>();
    b.price_per_hour = j.value("pricePerHour", 0.0);
    b.replaced_price_per_hour = j.value("replacedPricePerHour", 0.0);
    b.pods = j.value("pods", json::array()).get<std::vector<std::string>>();
    b.reason = j.value("reason", std::string());
    if (b.node.empty() || b.machine_type.empty() || b.zone.empty()) {
      return Status::InvalidArgument("spot boot plan: node, machineType and zone must not be empty");
    }
    return b;
  });
}

}  // namespace kinema::spot
