// Label selectors as people write them (kubectl -l, config keys such as
// spot.spotSelector, rebalance.nodeSelector, exclusions.labelSelector):
// "a=b,c==d,e!=f,g in (x,y),h notin (z),i,!j", requirements ANDed.
//
// Contract: ParseLabelSelectorString() never throws; InvalidArgument names
// the offending requirement; an empty (or blank) text is an error — callers
// for which "unset" means "everything" check for that first. Matches() is
// the scheduler's matching of those requirements (MatchesRequirement).
// Thread-safety: pure values and functions.
#pragma once

#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/optimize/scheduling.h"

namespace kinema {

// A parsed label selector string: requirements ANDed (an empty list selects
// everything).
struct LabelSelectorString {
  std::string text;
  std::vector<SelectorRequirement> requirements;
  bool Matches(const Labels& labels) const;
};

// Parses "a=b,c in (x,y),!d"; InvalidArgument naming the offending part.
StatusOr<LabelSelectorString> ParseLabelSelectorString(const std::string& text);

}  // namespace kinema
