// Class-level invariants of an optimizer Solution (steps/optimize/solution.h),
// checked from scratch as gtest expectations: capacity, compatibility, caps,
// conflicts, each bin's `used` equal to its contents, every pod placed once,
// forced nodes open, existing nodes open at most once. Shared by the
// optimizer tests that drive the Packer, the LNS neighbourhoods and the
// branch-and-price dives directly (plans go through independent_validator.h).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::testing_util {

inline void ExpectValidSolution(const opt::Problem& p, const opt::Solution& s, const std::string& ctx) {
  std::vector<int64_t> placed(p.classes.size(), 0);
  std::vector<int> existing_open(p.num_existing, 0);
  for (const auto& b : s.bins) {
    const opt::Kind& k = p.kinds[b.kind];
    if (!p.IsNew(b.kind)) ++existing_open[b.kind];
    Resources used;
    for (auto& [d, n] : b.items) {
      EXPECT_GT(n, 0) << ctx;
      EXPECT_TRUE(k.compat[d]) << ctx << ": class " << d << " on an incompatible kind";
      EXPECT_LE(n, p.classes[d].cap) << ctx;
      for (int e : p.classes[d].conflicts) {
        EXPECT_EQ(b.Count(e), 0) << ctx << ": conflicting classes share a node";
      }
      used.cpu_milli += p.classes[d].req.cpu_milli * n;
      used.memory_bytes += p.classes[d].req.memory_bytes * n;
      used.pods += p.classes[d].req.pods * n;
      placed[d] += n;
    }
    EXPECT_EQ(used.cpu_milli, b.used.cpu_milli) << ctx;
    EXPECT_EQ(used.memory_bytes, b.used.memory_bytes) << ctx;
    EXPECT_LE(used.cpu_milli, k.free.cpu_milli) << ctx;
    EXPECT_LE(used.memory_bytes, k.free.memory_bytes) << ctx;
    EXPECT_LE(used.pods, k.free.pods) << ctx;
  }
  for (size_t d = 0; d < p.classes.size(); ++d) EXPECT_EQ(placed[d], p.classes[d].n()) << ctx << ": class " << d;
  for (int j = 0; j < p.num_existing; ++j) {
    EXPECT_LE(existing_open[j], 1) << ctx << ": node " << j << " open twice";
    if (p.kinds[j].forced) {
      EXPECT_EQ(existing_open[j], 1) << ctx << ": forced node " << j << " closed";
    }
  }
}

}  // namespace kinema::testing_util
