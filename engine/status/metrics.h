// Metrics: the controller's Prometheus metrics (text exposition format 0.0.4).
//
// A fixed, small set of families registered up front; samples are keyed by
// their label set. Counters only go up; gauges are set.
// Thread-safety: every method is safe from any thread (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace kinema {

class Metrics {
 public:
  using LabelSet = std::vector<std::pair<std::string, std::string>>;

  // Declares a family (idempotent). type: "counter" | "gauge".
  void Describe(const std::string& name, const std::string& type, const std::string& help);
  void Add(const std::string& name, const LabelSet& labels, double delta = 1);
  void Set(const std::string& name, const LabelSet& labels, double value);
  double Get(const std::string& name, const LabelSet& labels) const;

  // Every family, in name order, samples in label order.
  std::string Render() const;

 private:
  struct Family {
    std::string type, help;
    std::map<LabelSet, double> samples;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace kinema
