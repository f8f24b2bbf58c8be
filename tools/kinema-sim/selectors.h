// Label and field selectors, parsed from the query-string syntax Kubernetes
// uses (labels.Parse / fields.ParseSelector).
//
// Label selector: comma-separated requirements `k=v`, `k==v`, `k!=v`,
// `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist).
// Field selector: `path=v`, `path==v`, `path!=v`; only the fields the real
// apiserver indexes for a kind are accepted (metadata.name and
// metadata.namespace for every kind; pods also spec.nodeName, status.phase,
// ...), anything else is a 400 "field label not supported".
//
// Thread-safety: parsed selectors are immutable values, Matches() is const.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tools/kinema-sim/api_error.h"

namespace kinema::sim {

struct ResourceType;

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // Empty text selects everything.
  static ApiResult<LabelSelector> Parse(const std::string& text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions}).
  // Note: an empty object selects everything (the caller decides what an
  // empty PDB selector means).
  static ApiResult<LabelSelector> FromJson(const nlohmann::json& selector);

  bool Empty() const { return reqs_.empty(); }
  // `labels` is the object's metadata.labels (may be null).
  bool Matches(const nlohmann::json& labels) const;
  // Renders back to the query-string form ("app=web,tier in (a,b)").
  std::string ToString() const;

 private:
  std::vector<Requirement> reqs_;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    bool negate;
    std::string value;
  };
  static ApiResult<FieldSelector> Parse(const std::string& text, const ResourceType& rt);
  bool Empty() const { return reqs_.empty(); }
  bool Matches(const nlohmann::json& object) const;

  // Value of a field for selection ("" when absent; booleans as "true"/"false").
  static std::string FieldValue(const nlohmann::json& object, const std::string& path);

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace kinema::sim
