// NodePricer: hourly price of a Node from the catalog (planning.md §2):
// the machine type is the node.kubernetes.io/instance-type label; the node is
// spot when labelled cloud.google.com/gke-spot=true or
// kinema.io/capacity-type=spot, or when it carries every label of the
// catalog's top-level spot.labels; otherwise on-demand. Unknown types cost 0
// and are reported once as a warning.
// Thread-safety: immutable after Load(); PriceOf() is thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "engine/common/status.h"

namespace kinema::sim {

class NodePricer {
 public:
  static StatusOr<NodePricer> LoadFile(const std::string& path);
  static StatusOr<NodePricer> FromJson(const nlohmann::json& catalog);


  double PriceOf(const nlohmann::json& node) const;
  bool IsSpot(const nlohmann::json& node) const;
  size_t machine_types() const { return types_.size(); }
  // The raw catalog (issue 4: fake GCE machineTypes).
  const nlohmann::json& catalog() const { return catalog_; }

 private:
  struct Prices {
    double on_demand = 0;
    double spot = -1;  // < 0: no spot price
  };
  std::map<std::string, Prices> types_;
  std::map<std::string, std::string> spot_labels_;
  nlohmann::json catalog_;
  struct Warned {
    std::mutex mu;
    std::set<std::string> types;
  };
  std::shared_ptr<Warned> warned_ = std::make_shared<Warned>();  // shared by copies
};

}  // namespace kinema::sim
