#include "engine/config/schema.h"

#include "engine/config/config_values.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace kinema::config {

namespace {

// Edit distance, for "did you mean" hints.
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Field Leaf(std::function<Status(const YAML::Node&, const std::string&)> f) { return Field{std::move(f), {}}; }

template <typename I>
Field IntegerField(I* out, long long lo, long long hi) {
  return Leaf([out, lo, hi](const YAML::Node& n, const std::string& p) -> Status {
    std::string v;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &v));
    auto d = ParseInteger(v, lo, hi);
    if (!d.ok()) return Status::InvalidArgument(p + ": " + d.status().message());
    *out = static_cast<I>(*d);
    return Status::OK();
  });
}

}  // namespace

std::string ClosestName(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 3;
  for (const auto& k : known) {
    size_t d = Distance(key, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

Status ScalarAt(const YAML::Node& n, const std::string& path, std::string* out) {
  if (!n.IsScalar()) return Status::InvalidArgument(path + ": must be a single value");
  *out = n.Scalar();
  return Status::OK();
}

Status Walk(const YAML::Node& node, const Field& schema, const std::string& path) {
  try {
    if (schema.set) return schema.set(node, path);
    if (node.IsNull()) return Status::OK();
    if (!node.IsMap()) return Status::InvalidArgument((path.empty() ? "config" : path) + ": must be a mapping");
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) return Status::InvalidArgument((path.empty() ? "config" : path) + ": keys must be names");
      std::string key = kv.first.Scalar();
      std::string full = path.empty() ? key : path + "." + key;
      auto it = schema.children.find(key);
      if (it == schema.children.end()) {
        std::vector<std::string> known;
        for (const auto& [k, f] : schema.children) known.push_back(k);
        std::string best = ClosestName(key, known);
        return Status::InvalidArgument(full + ": unknown key" + (best.empty() ? "" : " (did you mean " + best + "?)"));
      }
      KINEMA_RETURN_IF_ERROR(Walk(kv.second, it->second, full));
    }
    return Status::OK();
  } catch (const std::exception& e) {  // yaml-cpp: non-scalar keys, bad conversions
    return Status::InvalidArgument((path.empty() ? "config" : path) + ": " + e.what());
  }
}

StatusOr<YAML::Node> ParseYaml(const std::string& text, const std::string& what) {
  try {
    return YAML::Load(text);
  } catch (const std::exception& e) {  // yaml-cpp: non-scalar keys, bad conversions
    return Status::InvalidArgument(what + " is not valid YAML: " + std::string(e.what()));
  }
}

Field Map(Fields children) { return Field{nullptr, std::move(children)}; }

Field Str(std::string* out) {
  return Leaf([out](const YAML::Node& n, const std::string& p) { return ScalarAt(n, p, out); });
}

Field OneOf(std::string* out, std::set<std::string> allowed) {
  return Leaf([out, allowed](const YAML::Node& n, const std::string& p) -> Status {
    std::string v;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &v));
    if (!allowed.count(v)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Status::InvalidArgument(p + ": '" + v + "' is not one of " + list);
    }
    *out = v;
    return Status::OK();
  });
}

Field Dur(Duration* out) {
  return Leaf([out](const YAML::Node& n, const std::string& p) -> Status {
    std::string v;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &v));
    auto d = ParseDuration(v);
    if (!d.ok()) return Status::InvalidArgument(p + ": " + d.status().message());
    *out = *d;
    return Status::OK();
  });
}

Field Num(double* out, double lo, double hi) {
  return Leaf([out, lo, hi](const YAML::Node& n, const std::string& p) -> Status {
    std::string v;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &v));
    auto d = ParseNumber(v, lo, hi);
    if (!d.ok()) return Status::InvalidArgument(p + ": " + d.status().message());
    *out = *d;
    return Status::OK();
  });
}

Field Int64(int64_t* out, int64_t lo, int64_t hi) { return IntegerField(out, lo, hi); }
Field Int(int* out, int lo, int hi) { return IntegerField(out, lo, hi); }
Field Uint64(uint64_t* out, uint64_t lo, uint64_t hi) {
  return IntegerField(out, static_cast<long long>(lo), static_cast<long long>(std::min<uint64_t>(hi, INT64_MAX)));
}

Field Url(std::string* out) {
  return Leaf([out](const YAML::Node& n, const std::string& p) -> Status {
    std::string v;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &v));
    if (!v.empty()) {
      Status u = CheckServiceUrl(v);
      if (!u.ok()) return Status::InvalidArgument(p + ": " + u.message());
    }
    *out = v;
    return Status::OK();
  });
}

Field Bool(bool* out) {
  return Leaf([out](const YAML::Node& n, const std::string& p) -> Status {
    std::string v;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &v));
    if (v == "true") *out = true;
    else if (v == "false") *out = false;
    else return Status::InvalidArgument(p + ": '" + v + "' must be true or false");
    return Status::OK();
  });
}

Field StrList(std::vector<std::string>* out) {
  return Leaf([out](const YAML::Node& n, const std::string& p) -> Status {
    if (!n.IsSequence()) return Status::InvalidArgument(p + ": must be a list of strings");
    std::vector<std::string> values;
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) return Status::InvalidArgument(p + "[" + std::to_string(i) + "]: must be a string");
      values.push_back(n[i].Scalar());
    }
    *out = std::move(values);
    return Status::OK();
  });
}

Field Custom(std::function<Status(const YAML::Node&, const std::string& path)> parse) { return Leaf(std::move(parse)); }

}  // namespace kinema::config
