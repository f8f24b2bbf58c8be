#include "engine/common/safe_json.h"

#include <cmath>
#include <limits>
#include <vector>

#include "engine/common/text.h"

namespace kinema::safe_json {

int NestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > limit) return deepest;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

Json Parse(std::string_view text, int max_depth) {
  if (NestingDepth(text, max_depth) > max_depth) return Json(Json::value_t::discarded);
  return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

std::string Dump(const Json& j, int indent) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

bool MakeValidUtf8(Json* j) {
  bool changed = false;
  std::vector<Json*> stack = {j};
  while (!stack.empty()) {
    Json* v = stack.back();
    stack.pop_back();
    if (v->is_string()) {
      auto& s = v->get_ref<std::string&>();
      if (!IsValidUtf8(s)) {
        s = SanitizeUtf8(s);
        changed = true;
      }
    } else if (v->is_array()) {
      for (auto& e : *v) stack.push_back(&e);
    } else if (v->is_object()) {
      bool bad_key = false;
      for (auto it = v->begin(); it != v->end(); ++it) bad_key = bad_key || !IsValidUtf8(it.key());
      if (bad_key) {
        Json fixed = Json::object();
        for (auto it = v->begin(); it != v->end(); ++it) fixed[SanitizeUtf8(it.key())] = std::move(it.value());
        *v = std::move(fixed);
        changed = true;
      }
      for (auto& [k, e] : v->items()) stack.push_back(&e);
    }
  }
  return changed;
}

std::optional<std::string> AsString(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  return v.get_ref<const std::string&>();
}

std::optional<int64_t> AsInt(const Json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below is exact
    if (!std::isfinite(d) || std::trunc(d) != d || d > kExact || d < -kExact) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<double> AsNumber(const Json& v) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<bool> AsBool(const Json& v) {
  if (!v.is_boolean()) return std::nullopt;
  return v.get<bool>();
}

const Json* Find(const Json& o, std::string_view key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

const Json* FindObject(const Json& o, std::string_view key) {
  const Json* v = Find(o, key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

const Json* FindArray(const Json& o, std::string_view key) {
  const Json* v = Find(o, key);
  return v != nullptr && v->is_array() ? v : nullptr;
}

const Json* FindPath(const Json& o, std::string_view dotted_path) {
  const Json* cur = &o;
  while (true) {
    const size_t dot = dotted_path.find('.');
    cur = Find(*cur, dotted_path.substr(0, dot));
    if (cur == nullptr || dot == std::string_view::npos) return cur;
    dotted_path.remove_prefix(dot + 1);
  }
}

std::optional<std::string> OptString(const Json& o, std::string_view key) {
  const Json* v = Find(o, key);
  return v == nullptr ? std::nullopt : AsString(*v);
}

std::optional<int64_t> OptInt(const Json& o, std::string_view key) {
  const Json* v = Find(o, key);
  return v == nullptr ? std::nullopt : AsInt(*v);
}

std::optional<double> OptNumber(const Json& o, std::string_view key) {
  const Json* v = Find(o, key);
  return v == nullptr ? std::nullopt : AsNumber(*v);
}

std::optional<bool> OptBool(const Json& o, std::string_view key) {
  const Json* v = Find(o, key);
  return v == nullptr ? std::nullopt : AsBool(*v);
}

std::string String(const Json& o, std::string_view key, std::string_view def) {
  const Json* v = Find(o, key);
  if (v == nullptr || !v->is_string()) return std::string(def);
  return v->get_ref<const std::string&>();
}

int64_t Int(const Json& o, std::string_view key, int64_t def) { return OptInt(o, key).value_or(def); }
double Number(const Json& o, std::string_view key, double def) { return OptNumber(o, key).value_or(def); }
bool Bool(const Json& o, std::string_view key, bool def) { return OptBool(o, key).value_or(def); }

}  // namespace kinema::safe_json
