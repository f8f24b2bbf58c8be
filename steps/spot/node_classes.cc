#include "steps/spot/node_classes.h"


namespace kinema::spot {

const char* NodeClassName(NodeClass c) {
  switch (c) {
    case NodeClass::kOnDemand: return "on-demand";
    case NodeClass::kSpot: return "spot";
    case NodeClass::kOther: return "other";
  }
  return "other";
}

bool DefaultSpotRule(const Labels& labels, const Labels& catalog_spot_labels) {
  auto is = [&](const char* k, const char* v) {
    auto it = labels.find(k);
    return it != labels.end() && it->second == v;
  };
  if (is("cloud.google.com/gke-spot", "true") || is("cloud.google.com/gke-provisioning", "spot") ||
      is("kinema.io/capacity-type", "spot")) {
    return true;
  }
  if (catalog_spot_labels.empty()) return false;
  for (const auto& [k, v] : catalog_spot_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

NodeClass ClassifyNode(const Labels& labels, const NodeClassRules& rules, std::string* why) {
  auto say = [&](const std::string& s) {
    if (why) *why = s;
  };
  bool spot = rules.spot ? rules.spot->Matches(labels) : DefaultSpotRule(labels, rules.catalog_spot_labels);
  bool on_demand = rules.on_demand ? rules.on_demand->Matches(labels) : !spot;
  if (spot && on_demand) {
    say("matches both spot.spotSelector and spot.onDemandSelector: left alone");
    return NodeClass::kOther;
  }
  if (spot) {
    say(rules.spot ? "matches spot.spotSelector " + rules.spot->text : "spot capacity labels");
    return NodeClass::kSpot;
  }
  if (on_demand) {
    say(rules.on_demand ? "matches spot.onDemandSelector " + rules.on_demand->text : "not spot");
    return NodeClass::kOnDemand;
  }
  say("matches neither spot.spotSelector nor spot.onDemandSelector: left alone");
  return NodeClass::kOther;
}

}  // namespace kinema::spot
