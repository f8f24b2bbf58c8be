#include "engine/status/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kinema {

namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest of %.15g / %.17g that reads back as v ("0.1", not
  // "0.10000000000000001").
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

void Metrics::Describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.type = type;
  f.help = help;
}

void Metrics::Add(const std::string& name, const LabelSet& labels, double delta) {
  std::lock_guard<std::mutex> l(mu_);
  families_[name].samples[labels] += delta;
}

void Metrics::Set(const std::string& name, const LabelSet& labels, double value) {
  std::lock_guard<std::mutex> l(mu_);
  families_[name].samples[labels] = value;
}

void Metrics::DescribeHistogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.type = "histogram";
  f.help = help;
  f.bounds = std::move(bounds);
}

void Metrics::Observe(const std::string& name, const LabelSet& labels, double value) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  Histogram& h = f.histograms[labels];
  if (h.counts.empty()) h.counts.assign(f.bounds.size() + 1, 0);
  size_t i = 0;
  while (i < f.bounds.size() && value > f.bounds[i]) ++i;
  h.counts[i]++;
  h.sum += value;
  h.count++;
}

double Metrics::Get(const std::string& name, const LabelSet& labels) const {
  std::lock_guard<std::mutex> l(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto s = f->second.samples.find(labels);
  return s == f->second.samples.end() ? 0 : s->second;
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  auto sample = [&out](const std::string& name, const LabelSet& labels, double value) {
    out += name;
    if (!labels.empty()) {
      out += "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out += ',';
        out.append(labels[i].first).append("=\"").append(Escape(labels[i].second)).append("\"");
      }
      out += "}";
    }
    out.append(" ").append(FormatValue(value)).append("\n");
  };
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    if (!f.type.empty()) out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.samples) sample(name, labels, value);
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f.bounds.size(); ++i) {
        cumulative += h.counts[i];
        LabelSet with_le = labels;
        with_le.emplace_back("le", i < f.bounds.size() ? FormatValue(f.bounds[i]) : "+Inf");
        sample(name + "_bucket", with_le, static_cast<double>(cumulative));
      }
      sample(name + "_sum", labels, h.sum);
      sample(name + "_count", labels, static_cast<double>(h.count));
    }
  }
  return out;
}

}  // namespace kinema
