#include "tools/kinema-sim/custom_resources.h"

#include <cmath>
#include <cstdlib>

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

std::string Join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

std::string TypeOf(const Json& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number_float()) return std::floor(v.get<double>()) == v.get<double>() ? "integer" : "number";
  return "null";
}

bool TypeMatches(const std::string& want, const Json& v) {
  std::string got = TypeOf(v);
  if (want == got) return true;
  return want == "number" && got == "integer";
}

// Renders a value the way the apiserver quotes it in messages.
std::string Shown(const Json& v) {
  if (v.is_string()) return "\"" + v.get<std::string>() + "\"";
  if (v.is_object()) return "\"object\"";
  if (v.is_array()) return "\"array\"";
  return v.dump();
}

void DefaultNode(const Json& schema, Json& value) {
  if (!schema.is_object()) return;
  if (value.is_object() && schema.contains("properties")) {
    for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
      const Json& sub = it.value();
      if (!value.contains(it.key())) {
        if (sub.contains("default")) value[it.key()] = sub["default"];
        else continue;
      }
      DefaultNode(sub, value[it.key()]);
    }
  }
  if (value.is_object() && schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) DefaultNode(schema["additionalProperties"], it.value());
  }
  if (value.is_array() && schema.contains("items")) {
    for (auto& item : value) DefaultNode(schema["items"], item);
  }
}

void ValidateNode(const Json& schema, const Json& value, const std::string& path, std::vector<StatusCause>& causes) {
  if (!schema.is_object()) return;
  if (value.is_null()) {
    if (!schema.value("nullable", false)) {
      causes.push_back({"FieldValueInvalid", "Invalid value: \"null\": " + path + " in body must be of type " +
                                                 schema.value("type", "object") + ": \"null\"",
                        path});
    }
    return;
  }
  if (schema.value("x-kubernetes-int-or-string", false)) {
    if (!value.is_string() && TypeOf(value) != "integer") {
      causes.push_back({"FieldValueInvalid", "Invalid value: " + Shown(value) + ": " + path +
                                                 " in body must be of type integer,string: \"" + TypeOf(value) + "\"",
                        path});
    }
    return;
  }
  std::string want = schema.value("type", "");
  if (!want.empty() && !TypeMatches(want, value)) {
    causes.push_back({"FieldValueTypeInvalid", "Invalid value: " + Shown(value) + ": " + path +
                                                   " in body must be of type " + want + ": \"" + TypeOf(value) + "\"",
                      path});
    return;
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    bool found = false;
    std::string supported;
    for (const auto& e : schema["enum"]) {
      found = found || e == value;
      supported += (supported.empty() ? "" : ", ") + Shown(e);
    }
    if (!found) {
      causes.push_back({"FieldValueNotSupported",
                        "Unsupported value: " + Shown(value) + ": supported values: " + supported, path});
    }
  }
  if (value.is_number()) {
    double v = value.get<double>();
    if (schema.contains("minimum") && v < schema["minimum"].get<double>()) {
      causes.push_back({"FieldValueInvalid", "Invalid value: " + value.dump() + ": " + path +
                                                 " in body should be greater than or equal to " +
                                                 schema["minimum"].dump(),
                        path});
    }
    if (schema.contains("maximum") && v > schema["maximum"].get<double>()) {
      causes.push_back({"FieldValueInvalid", "Invalid value: " + value.dump() + ": " + path +
                                                 " in body should be less than or equal to " + schema["maximum"].dump(),
                        path});
    }
  }
  if (value.is_object()) {
    if (schema.contains("required") && schema["required"].is_array()) {
      for (const auto& r : schema["required"]) {
        if (r.is_string() && !value.contains(r.get<std::string>())) {
          causes.push_back({"FieldValueRequired", "Required value", Join(path, r.get<std::string>())});
        }
      }
    }
    const Json* props = schema.contains("properties") ? &schema["properties"] : nullptr;
    const Json* extra = schema.contains("additionalProperties") && schema["additionalProperties"].is_object()
                            ? &schema["additionalProperties"]
                            : nullptr;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (props != nullptr && props->contains(it.key())) {
        ValidateNode((*props)[it.key()], it.value(), Join(path, it.key()), causes);
      } else if (extra != nullptr) {
        ValidateNode(*extra, it.value(), Join(path, it.key()), causes);
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i) {
      ValidateNode(schema["items"], value[i], path + "[" + std::to_string(i) + "]", causes);
    }
  }
}

std::string Scalar(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// Applies one JSONPath step list to a set of nodes.
std::vector<const Json*> Step(const std::vector<const Json*>& in, const std::string& path, size_t* pos, bool* ok) {
  std::vector<const Json*> out;
  const std::string& p = path;
  size_t i = *pos;
  if (p[i] == '.') {
    size_t j = i + 1;
    while (j < p.size() && p[j] != '.' && p[j] != '[') ++j;
    std::string key = p.substr(i + 1, j - i - 1);
    for (const Json* n : in) {
      if (n->is_object() && n->contains(key)) out.push_back(&(*n)[key]);
    }
    *pos = j;
    return out;
  }
  if (p[i] != '[') {
    *ok = false;
    return out;
  }
  size_t close = p.find(']', i);
  if (close == std::string::npos) {
    *ok = false;
    return out;
  }
  std::string inner = p.substr(i + 1, close - i - 1);
  *pos = close + 1;
  if (inner == "*") {
    for (const Json* n : in) {
      if (n->is_array()) {
        for (const auto& e : *n) out.push_back(&e);
      } else if (n->is_object()) {
        for (const auto& e : n->items()) out.push_back(&e.value());
      }
    }
    return out;
  }
  if (inner.rfind("?(@.", 0) == 0 && inner.back() == ')') {
    // ?(@.field=='value')
    std::string expr = inner.substr(4, inner.size() - 5);
    size_t eq = expr.find("==");
    if (eq == std::string::npos) {
      *ok = false;
      return out;
    }
    std::string field = expr.substr(0, eq);
    std::string want = expr.substr(eq + 2);
    if (want.size() >= 2 && (want.front() == '\'' || want.front() == '"')) want = want.substr(1, want.size() - 2);
    for (const Json* n : in) {
      if (!n->is_array()) continue;
      for (const auto& e : *n) {
        if (e.is_object() && e.contains(field) && Scalar(e[field]) == want) out.push_back(&e);
      }
    }
    return out;
  }
  char* end = nullptr;
  long idx = std::strtol(inner.c_str(), &end, 10);
  if (end == nullptr || *end != '\0') {
    *ok = false;
    return out;
  }
  for (const Json* n : in) {
    if (!n->is_array()) continue;
    long k = idx < 0 ? static_cast<long>(n->size()) + idx : idx;
    if (k >= 0 && static_cast<size_t>(k) < n->size()) out.push_back(&(*n)[static_cast<size_t>(k)]);
  }
  return out;
}

}  // namespace

const CustomResourceDefinition* FindCustomResource(const ResourceType& rt) {
  for (const auto& crd : CustomResourceDefinitions()) {
    if (crd.group == rt.group && crd.version == rt.version && crd.plural == rt.plural) return &crd;
  }
  return nullptr;
}

ResourceType ToResourceType(const CustomResourceDefinition& crd) {
  ResourceType t;
  t.group = crd.group;
  t.version = crd.version;
  t.plural = crd.plural;
  t.singular = crd.singular;
  t.kind = crd.kind;
  t.namespaced = crd.namespaced;
  t.uses_generation = true;  // CRs always carry metadata.generation
  t.has_status = crd.status_subresource;
  t.short_names = crd.short_names;
  t.categories = crd.categories;
  if (crd.status_subresource) {
    t.subresources.push_back(SubresourceType{"status", crd.kind, "", "", {"get", "patch", "update"}});
  }
  return t;
}

Json CrdObject(const CustomResourceDefinition& crd) {
  Json columns = Json::array();
  for (const auto& c : crd.printer_columns) {
    Json col = {{"name", c.name}, {"type", c.type}, {"jsonPath", c.json_path}};
    if (!c.description.empty()) col["description"] = c.description;
    if (c.priority != 0) col["priority"] = c.priority;
    columns.push_back(std::move(col));
  }
  Json names = {{"plural", crd.plural}, {"singular", crd.singular}, {"kind", crd.kind}, {"listKind", crd.kind + "List"}};
  if (!crd.short_names.empty()) names["shortNames"] = crd.short_names;
  if (!crd.categories.empty()) names["categories"] = crd.categories;
  Json version = {{"name", crd.version},
                  {"served", true},
                  {"storage", true},
                  {"schema", {{"openAPIV3Schema", crd.schema}}}};
  if (!columns.empty()) version["additionalPrinterColumns"] = columns;
  if (crd.status_subresource) version["subresources"] = {{"status", Json::object()}};
  return Json{{"apiVersion", "apiextensions.k8s.io/v1"},
              {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", crd.CrdName()}}},
              {"spec",
               {{"group", crd.group},
                {"names", names},
                {"scope", crd.namespaced ? "Namespaced" : "Cluster"},
                {"versions", Json::array({version})}}}};
}

void ApplySchemaDefaults(const CustomResourceDefinition& crd, Json& obj) {
  if (!obj.is_object()) return;
  DefaultNode(crd.schema, obj);
}

std::vector<StatusCause> ValidateAgainstSchema(const CustomResourceDefinition& crd, const Json& obj) {
  std::vector<StatusCause> causes;
  if (!obj.is_object() || !crd.schema.is_object()) return causes;
  Json body = obj;
  body.erase("apiVersion");
  body.erase("kind");
  body.erase("metadata");
  Json schema = crd.schema;
  if (schema.contains("properties")) {
    schema["properties"].erase("apiVersion");
    schema["properties"].erase("kind");
    schema["properties"].erase("metadata");
  }
  ValidateNode(schema, body, "", causes);
  return causes;
}

std::string EvaluateJsonPath(const Json& obj, const std::string& path) {
  std::string p = path;
  if (p.size() >= 2 && p.front() == '{' && p.back() == '}') p = p.substr(1, p.size() - 2);
  if (!p.empty() && p.front() == '$') p = p.substr(1);
  if (p.empty()) return "";
  std::vector<const Json*> nodes = {&obj};
  size_t pos = 0;
  bool ok = true;
  while (pos < p.size() && ok && !nodes.empty()) nodes = Step(nodes, p, &pos, &ok);
  if (!ok) return "";
  std::string out;
  for (const Json* n : nodes) {
    if (n->is_null()) continue;
    out += (out.empty() ? "" : ",") + (n->is_string() ? n->get<std::string>() : n->dump());
  }
  return out;
}

}  // namespace kinema::sim
