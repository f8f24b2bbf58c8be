#include "tools/kinema-sim/selectors.h"

#include <algorithm>
#include <cctype>

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> SplitTopLevel(const std::string& s) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : s) {
    if (c == '(') depth++;
    if (c == ')') depth--;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool ValidLabelKey(const std::string& k) {
  if (k.empty() || k.size() > 317) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) {
      return false;
    }
  }
  return true;
}

std::string LabelValue(const nlohmann::json& labels, const std::string& key, bool* present) {
  *present = false;
  if (!labels.is_object()) return "";
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return "";
  *present = true;
  return it->get<std::string>();
}

}  // namespace

ApiResult<LabelSelector> LabelSelector::Parse(const std::string& text) {
  LabelSelector sel;
  if (Trim(text).empty()) return sel;
  for (const std::string& raw : SplitTopLevel(text)) {
    std::string part = Trim(raw);
    if (part.empty()) return ApiError::BadRequest("unable to parse requirement: empty requirement in \"" + text + "\"");
    Requirement r;
    size_t pos;
    if (part[0] == '!') {
      r.key = Trim(part.substr(1));
      r.op = Op::kDoesNotExist;
    } else if ((pos = part.find("!=")) != std::string::npos) {
      r.key = Trim(part.substr(0, pos));
      r.op = Op::kNotEquals;
      r.values = {Trim(part.substr(pos + 2))};
    } else if ((pos = part.find("==")) != std::string::npos) {
      r.key = Trim(part.substr(0, pos));
      r.op = Op::kEquals;
      r.values = {Trim(part.substr(pos + 2))};
    } else if ((pos = part.find('=')) != std::string::npos) {
      r.key = Trim(part.substr(0, pos));
      r.op = Op::kEquals;
      r.values = {Trim(part.substr(pos + 1))};
    } else if (part.find('(') != std::string::npos) {
      size_t open = part.find('(');
      size_t close = part.rfind(')');
      if (close == std::string::npos || close < open) {
        return ApiError::BadRequest("unable to parse requirement: found '" + part + "', expected: ')'");
      }
      std::string head = Trim(part.substr(0, open));
      size_t sp = head.find_last_of(" \t");
      if (sp == std::string::npos) {
        return ApiError::BadRequest("unable to parse requirement: found '" + part + "', expected: in, notin");
      }
      r.key = Trim(head.substr(0, sp));
      std::string op = Trim(head.substr(sp + 1));
      if (op == "in") {
        r.op = Op::kIn;
      } else if (op == "notin") {
        r.op = Op::kNotIn;
      } else {
        return ApiError::BadRequest("unable to parse requirement: unknown operator '" + op + "'");
      }
      std::string inner = part.substr(open + 1, close - open - 1);
      size_t start = 0;
      while (start <= inner.size()) {
        size_t comma = inner.find(',', start);
        std::string v = Trim(inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        r.values.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      r.key = part;
      r.op = Op::kExists;
    }
    if (!ValidLabelKey(r.key)) {
      return ApiError::BadRequest("unable to parse requirement: invalid label key \"" + r.key + "\"");
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

ApiResult<LabelSelector> LabelSelector::FromJson(const nlohmann::json& selector) {
  LabelSelector sel;
  if (!selector.is_object()) return sel;
  if (auto ml = selector.find("matchLabels"); ml != selector.end() && ml->is_object()) {
    for (auto it = ml->begin(); it != ml->end(); ++it) {
      if (!it.value().is_string()) return ApiError::BadRequest("matchLabels values must be strings");
      sel.reqs_.push_back({it.key(), Op::kEquals, {it.value().get<std::string>()}});
    }
  }
  if (auto me = selector.find("matchExpressions"); me != selector.end() && me->is_array()) {
    for (const auto& e : *me) {
      Requirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In") r.op = Op::kIn;
      else if (op == "NotIn") r.op = Op::kNotIn;
      else if (op == "Exists") r.op = Op::kExists;
      else if (op == "DoesNotExist") r.op = Op::kDoesNotExist;
      else return ApiError::BadRequest("\"" + op + "\" is not a valid label selector operator");
      if (auto v = e.find("values"); v != e.end() && v->is_array()) {
        for (const auto& x : *v) {
          if (x.is_string()) r.values.push_back(x.get<std::string>());
        }
      }
      sel.reqs_.push_back(std::move(r));
    }
  }
  return sel;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  for (const auto& r : reqs_) {
    bool present;
    std::string v = LabelValue(labels, r.key, &present);
    switch (r.op) {
      case Op::kEquals:
        if (!present || v != r.values[0]) return false;
        break;
      case Op::kNotEquals:
        if (present && v == r.values[0]) return false;
        break;
      case Op::kIn:
        if (!present || std::find(r.values.begin(), r.values.end(), v) == r.values.end()) return false;
        break;
      case Op::kNotIn:
        if (present && std::find(r.values.begin(), r.values.end(), v) != r.values.end()) return false;
        break;
      case Op::kExists:
        if (!present) return false;
        break;
      case Op::kDoesNotExist:
        if (present) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ",";
    auto join = [&]() {
      std::string s;
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      return s;
    };
    switch (r.op) {
      case Op::kEquals: out += r.key + "=" + r.values[0]; break;
      case Op::kNotEquals: out += r.key + "!=" + r.values[0]; break;
      case Op::kIn: out += r.key + " in (" + join() + ")"; break;
      case Op::kNotIn: out += r.key + " notin (" + join() + ")"; break;
      case Op::kExists: out += r.key; break;
      case Op::kDoesNotExist: out += "!" + r.key; break;
    }
  }
  return out;
}

namespace {

bool FieldSupported(const ResourceType& rt, const std::string& field) {
  if (field == "metadata.name" || field == "metadata.namespace") return true;
  if (rt.kind == "Pod") {
    static const char* kPod[] = {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                 "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                                 "status.podIP", "status.podIPs", "status.nominatedNodeName"};
    for (const char* f : kPod) {
      if (field == f) return true;
    }
  }
  if (rt.kind == "Node" && field == "spec.unschedulable") return true;
  if (rt.kind == "Event") {
    if (field.rfind("involvedObject.", 0) == 0) return true;
    if (field == "reason" || field == "reportingComponent" || field == "source" || field == "type") return true;
  }
  if (rt.kind == "Namespace" && field == "status.phase") return true;
  if (rt.kind == "ReplicaSet" && field == "status.replicas") return true;
  return false;
}

}  // namespace

ApiResult<FieldSelector> FieldSelector::Parse(const std::string& text, const ResourceType& rt) {
  FieldSelector sel;
  if (Trim(text).empty()) return sel;
  for (const std::string& raw : SplitTopLevel(text)) {
    std::string part = Trim(raw);
    Requirement r;
    size_t pos;
    if ((pos = part.find("!=")) != std::string::npos) {
      r.field = Trim(part.substr(0, pos));
      r.negate = true;
      r.value = Trim(part.substr(pos + 2));
    } else if ((pos = part.find("==")) != std::string::npos) {
      r.field = Trim(part.substr(0, pos));
      r.negate = false;
      r.value = Trim(part.substr(pos + 2));
    } else if ((pos = part.find('=')) != std::string::npos) {
      r.field = Trim(part.substr(0, pos));
      r.negate = false;
      r.value = Trim(part.substr(pos + 1));
    } else {
      return ApiError::BadRequest("invalid field selector: '" + part + "': no operator");
    }
    if (!FieldSupported(rt, r.field)) {
      return ApiError::BadRequest("field label not supported: " + r.field);
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

std::string FieldSelector::FieldValue(const nlohmann::json& object, const std::string& path) {
  if (path == "source") {  // events: source.component
    return FieldValue(object, "source.component");
  }
  const nlohmann::json* cur = &object;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return "";
    auto it = cur->find(seg);
    if (it == cur->end()) return (path == "spec.unschedulable" || path == "spec.hostNetwork") ? "false" : "";
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number_integer()) return std::to_string(cur->get<long long>());
  if (cur->is_null()) return "";
  return cur->dump();
}

bool FieldSelector::Matches(const nlohmann::json& object) const {
  for (const auto& r : reqs_) {
    std::string v = FieldValue(object, r.field);
    if ((v == r.value) == r.negate) return false;
  }
  return true;
}

}  // namespace kinema::sim
