// Config schema: typed, validated YAML reading shared by the controller's
// global settings and every workflow kind's section.
//
// A schema is a tree of Fields: a mapping (named children) or a leaf that
// parses one value into a variable it points to. Walk() reads a YAML node
// against it and stops at the first problem with an InvalidArgument whose
// message starts with the full key path:
//   - unknown key:   "decision.minSaving: unknown key (did you mean minSavings?)"
//   - wrong type:    "decision: must be a mapping", "cloud.zones: must be a list of strings"
//   - bad value:     "decision.minSavings: 1.5 is outside [0, 1]",
//                    "loop.cooldown: bad duration '.' ..."
// Numbers must be finite (NaN and infinities are refused everywhere).
// Leaves write their variable only when the value is valid. Fields hold raw
// pointers: the variables must outlive the schema.
// Thread-safety: a schema is used by one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/time.h"

namespace kinema::config {

struct Field {
  std::function<Status(const YAML::Node&, const std::string& path)> set;  // leaf
  std::map<std::string, Field> children;                                   // mapping
};

using Fields = std::map<std::string, Field>;

Field Map(Fields children);
Field Str(std::string* out);
Field OneOf(std::string* out, std::set<std::string> allowed);
Field Dur(Duration* out);
Field Num(double* out, double lo, double hi);
Field Int64(int64_t* out, int64_t lo, int64_t hi);
Field Int(int* out, int lo, int hi);
Field Uint64(uint64_t* out, uint64_t lo, uint64_t hi);
// An http:// or https:// URL, or empty ("not set"); other schemes are refused.
Field Url(std::string* out);
Field Bool(bool* out);
Field StrList(std::vector<std::string>* out);
// A leaf parsed by `parse` (lists of mappings, int-or-percent, ...).
Field Custom(std::function<Status(const YAML::Node&, const std::string& path)> parse);

// Reads `node` against `schema`; `path` is the key path of `node` ("" at the root).
Status Walk(const YAML::Node& node, const Field& schema, const std::string& path);

// Parses YAML text (InvalidArgument naming the problem; never throws).
StatusOr<YAML::Node> ParseYaml(const std::string& text, const std::string& what);

// Helpers for Custom leaves.
Status ScalarAt(const YAML::Node& n, const std::string& path, std::string* out);
// The closest known name to `key` (edit distance < 3), or "".
std::string ClosestName(const std::string& key, const std::vector<std::string>& known);

}  // namespace kinema::config
