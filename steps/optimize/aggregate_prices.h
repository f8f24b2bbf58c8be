// Aggregate prices: per-class prices for large instances (thousands of
// classes), where the full fluid LP (fluid_lp.h) is too slow for the budget.
//
// A small fluid LP over aggregates: node kinds merged by price and capacity
// (groups bounded by their size), forced existing nodes merged by zone and
// capacity type into free capacity (compatibility = union), and pod classes
// merged into commodities by their compatibility with those bins (a
// commodity's demand is the sum of its classes' requests; per-node caps and
// conflicts ignored). Its capacity-row duals lambda_bk price each bin's
// cpu, memory and pod slots; a class's price is the cheapest compatible bin's
// sum_k lambda_bk r_dk / C_bk. The prices are only a heuristic input: the
// bound that uses them is LagrangianBound (fluid_lp.h), valid for any prices.
// Thread-safety: pure function; owns its lp_solve model.
#pragma once

#include <string>
#include <vector>

#include "steps/optimize/problem.h"

namespace kinema::opt {

struct AggregatePrices {
  bool ok = false;
  std::vector<double> pi;  // per class, >= 0
  int commodities = 0, bins = 0;
  std::string message;     // lp_solve status when !ok
};

AggregatePrices SolveAggregatePrices(const Problem& p, double time_limit_seconds);

}  // namespace kinema::opt
