#include "engine/status/metrics.h"

#include <cmath>
#include <cstdio>

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
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
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
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    if (!f.type.empty()) out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.samples) {
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
    }
  }
  return out;
}

}  // namespace kinema
