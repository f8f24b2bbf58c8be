// ListFilter: the `filter` query parameter of GCE list calls, the subset the
// fake serves:
//   expression := term { [AND] term }        (space-separated terms are ANDed)
//   term       := "(" expression ")" | field op value
//   field      := name | status | zone | machineType | labels.<key>
//   op         := "=" | "!=" | "eq" | "ne"   (eq/ne: RE2-style full regex match)
//   value      := "quoted \"string\"" | bare-word
// A missing label never matches "=" and always matches "!=". OR, ":" and
// other fields are rejected as 400 invalid, like GCE rejects filters it
// cannot parse.
// Thread-safety: immutable after Parse().
#pragma once

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::gce {

class ListFilter {
 public:
  // Empty text: matches everything. InvalidArgument with the reason otherwise.
  static StatusOr<ListFilter> Parse(const std::string& text);

  // `fields` holds name/status/zone/machineType; labels separately.
  bool Matches(const std::map<std::string, std::string>& fields,
               const std::map<std::string, std::string>& labels) const;

 private:
  struct Term {
    std::string field;  // "name", ..., or "labels.<key>"
    bool negate = false;
    bool regex = false;
    std::string value;
    std::regex re;
  };
  std::vector<Term> terms_;
};

}  // namespace kinema::sim::gce
