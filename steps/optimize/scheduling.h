// Scheduling predicates: the subset of kube-scheduler's filters that decide
// whether a pod may run on a node, as pure functions over typed constraints.
//
// Covered: nodeSelector; required node affinity (nodeSelectorTerms ORed,
// matchExpressions/matchFields ANDed; operators In, NotIn, Exists,
// DoesNotExist, Gt, Lt); taints with effects NoSchedule/NoExecute against
// tolerations (operators Equal/Exists, empty key with Exists = all keys,
// empty effect = all effects); label selectors for pod anti-affinity
// (matchLabels + matchExpressions In/NotIn/Exists/DoesNotExist).
// PreferNoSchedule taints and preferred affinities never block placement.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"

namespace kinema {

struct SelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist, Gt, Lt
  std::vector<std::string> values;
};

struct NodeSelectorTerm {
  std::vector<SelectorRequirement> match_expressions;  // against node labels
  std::vector<SelectorRequirement> match_fields;       // against metadata.name
};

struct Toleration {
  std::string key;
  std::string op = "Equal";  // Equal or Exists
  std::string value;
  std::string effect;        // empty = all effects
};

struct LabelSelector {
  Labels match_labels;
  std::vector<SelectorRequirement> match_expressions;
};

// What a pod (or DaemonSet template) requires of its node.
struct NodeConstraints {
  Labels node_selector;
  bool has_required_affinity = false;
  std::vector<NodeSelectorTerm> required_terms;  // ORed; empty list + flag = matches nothing
  std::vector<Toleration> tolerations;
};

// A node as the predicates see it.
struct NodeView {
  const std::string* name;
  const Labels* labels;
  const std::vector<Taint>* taints;
};

bool MatchesRequirement(const SelectorRequirement& r, const Labels& labels);
bool MatchesLabelSelector(const LabelSelector& s, const Labels& labels);
bool ToleratesTaint(const std::vector<Toleration>& tolerations, const Taint& taint);
// True when every NoSchedule/NoExecute taint is tolerated.
bool ToleratesAll(const std::vector<Toleration>& tolerations, const std::vector<Taint>& taints);
bool MatchesNodeAffinity(const NodeConstraints& c, const NodeView& node);
// Full check (selector, affinity, taints). When `why` is non-null and the
// answer is false, it receives a short reason ("taint kinema.io/spot=true:NoSchedule not tolerated").
bool NodeAccepts(const NodeConstraints& c, const NodeView& node, std::string* why = nullptr);

// JSON parsers; `where` is the JSON path used in error messages.
StatusOr<NodeConstraints> ParseNodeConstraints(const nlohmann::json& pod_spec, const std::string& where);
StatusOr<LabelSelector> ParseLabelSelector(const nlohmann::json& j, const std::string& where);

}  // namespace kinema
