// Metrics: the controller's Prometheus metrics (text exposition format 0.0.4).
//
// A fixed, small set of families registered up front; samples are keyed by
// their label set. Counters only go up; gauges are set; histograms count
// observations into cumulative buckets (`le`, then "+Inf") with _sum and
// _count, as the exposition format defines.
// Thread-safety: every method is safe from any thread (one mutex).
#pragma once

#include <cstdint>
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

  // Declares a histogram family with these upper bounds (ascending; +Inf is
  // implied).
  void DescribeHistogram(const std::string& name, const std::string& help, std::vector<double> bounds);
  void Observe(const std::string& name, const LabelSet& labels, double value);

  // Every family, in name order, samples in label order.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bound, not cumulative; one more for +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    std::string type, help;
    std::map<LabelSet, double> samples;
    std::vector<double> bounds;                   // histograms
    std::map<LabelSet, Histogram> histograms;     // histograms
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace kinema
