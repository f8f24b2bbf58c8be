#include "tools/kinema-sim/pricing.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace kinema::sim {

StatusOr<NodePricer> NodePricer::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("catalog " + path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    return Status::InvalidArgument("catalog " + path + ": not valid JSON: " + e.what());
  }
  auto r = FromJson(j);
  if (!r.ok()) return r.status().WithContext("catalog " + path);
  return r;
}

StatusOr<NodePricer> NodePricer::FromJson(const nlohmann::json& catalog) {
  NodePricer p;
  if (!catalog.is_object() || !catalog.contains("machineTypes") || !catalog["machineTypes"].is_array()) {
    return Status::InvalidArgument("expected an object with a \"machineTypes\" array");
  }
  size_t i = 0;
  for (const auto& mt : catalog["machineTypes"]) {
    std::string where = "machineTypes[" + std::to_string(i++) + "]";
    if (!mt.is_object() || !mt.contains("name") || !mt["name"].is_string()) {
      return Status::InvalidArgument(where + ".name: required string");
    }
    if (!mt.contains("pricePerHour") || !mt["pricePerHour"].is_object() || !mt["pricePerHour"].contains("onDemand") ||
        !mt["pricePerHour"]["onDemand"].is_number()) {
      return Status::InvalidArgument(where + ".pricePerHour.onDemand: required number");
    }
    Prices pr;
    pr.on_demand = mt["pricePerHour"]["onDemand"].get<double>();
    if (mt["pricePerHour"].contains("spot") && mt["pricePerHour"]["spot"].is_number()) {
      pr.spot = mt["pricePerHour"]["spot"].get<double>();
    }
    p.types_[mt["name"].get<std::string>()] = pr;
  }
  if (catalog.contains("spot") && catalog["spot"].is_object() && catalog["spot"].contains("labels") &&
      catalog["spot"]["labels"].is_object()) {
    for (auto it = catalog["spot"]["labels"].begin(); it != catalog["spot"]["labels"].end(); ++it) {
      if (it.value().is_string()) p.spot_labels_[it.key()] = it.value().get<std::string>();
    }
  }
  p.catalog_ = catalog;
  return p;
}

bool NodePricer::IsSpot(const nlohmann::json& node) const {
  const auto labels = node["metadata"].value("labels", nlohmann::json::object());
  if (labels.value("cloud.google.com/gke-spot", "") == "true") return true;
  if (labels.value("kinema.io/capacity-type", "") == "spot") return true;
  if (spot_labels_.empty()) return false;
  for (const auto& [k, v] : spot_labels_) {
    if (labels.value(k, "") != v) return false;
  }
  return true;
}

double NodePricer::PriceOf(const nlohmann::json& node) const {
  const auto labels = node["metadata"].value("labels", nlohmann::json::object());
  std::string type = labels.value("node.kubernetes.io/instance-type", labels.value("beta.kubernetes.io/instance-type", ""));
  auto it = types_.find(type);
  if (it == types_.end()) {
    std::lock_guard<std::mutex> l(warned_->mu);
    if (warned_->types.insert(type).second) {
      spdlog::warn("node {}: instance type '{}' is not in the catalog; counted at 0/hour",
                   node["metadata"].value("name", ""), type);
    }
    return 0;
  }
  if (IsSpot(node) && it->second.spot >= 0) return it->second.spot;
  return it->second.on_demand;
}

}  // namespace kinema::sim
