#include "tools/kinema-sim/cluster/workload.h"

#include <cmath>

namespace kinema::sim::cluster {

std::string PodPhase(const Json& pod) {
  auto s = pod.find("status");
  if (s == pod.end() || !s->is_object()) return "";
  auto p = s->find("phase");
  return p != s->end() && p->is_string() ? p->get<std::string>() : "";
}

bool IsTerminating(const Json& obj) {
  auto md = obj.find("metadata");
  return md != obj.end() && md->is_object() && md->contains("deletionTimestamp") &&
         !(*md)["deletionTimestamp"].is_null();
}

bool IsActivePod(const Json& pod) {
  std::string phase = PodPhase(pod);
  return !IsTerminating(pod) && phase != "Succeeded" && phase != "Failed";
}

const Json* FindCondition(const Json& status, const std::string& type) {
  if (!status.is_object()) return nullptr;
  auto c = status.find("conditions");
  if (c == status.end() || !c->is_array()) return nullptr;
  for (const auto& cond : *c) {
    if (cond.is_object() && cond.value("type", "") == type) return &cond;
  }
  return nullptr;
}

bool HasTrueCondition(const Json& obj, const std::string& type) {
  auto s = obj.find("status");
  if (s == obj.end()) return false;
  const Json* c = FindCondition(*s, type);
  return c && c->value("status", "") == "True";
}

bool IsPodReady(const Json& pod) {
  auto s = pod.find("status");
  if (s == pod.end()) return false;
  const Json* c = FindCondition(*s, "Ready");
  return c && c->value("status", "") == "True";
}

std::optional<SimClock::TimePoint> ReadySince(const Json& pod) {
  auto s = pod.find("status");
  if (s == pod.end()) return std::nullopt;
  const Json* c = FindCondition(*s, "Ready");
  if (!c || c->value("status", "") != "True") return std::nullopt;
  SimClock::TimePoint t;
  if (!SimClock::ParseTime(c->value("lastTransitionTime", ""), &t)) return std::nullopt;
  return t;
}

bool IsPodAvailable(const Json& pod, long long min_ready_seconds, SimClock::TimePoint now) {
  if (!IsPodReady(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  auto since = ReadySince(pod);
  if (!since) return true;
  return *since + std::chrono::seconds(min_ready_seconds) <= now;
}

const Json* ControllerRef(const Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->contains("ownerReferences")) return nullptr;
  const Json& refs = (*md)["ownerReferences"];
  if (!refs.is_array()) return nullptr;
  for (const auto& r : refs) {
    if (r.is_object() && r.value("controller", false)) return &r;
  }
  return nullptr;
}

std::string Uid(const Json& obj) {
  auto md = obj.find("metadata");
  return md != obj.end() && md->is_object() ? md->value("uid", "") : "";
}

Json OwnerReference(const Json& owner, const std::string& kind) {
  return Json{{"apiVersion", owner.value("apiVersion", "apps/v1")},
              {"kind", kind},
              {"name", owner["metadata"].value("name", "")},
              {"uid", Uid(owner)},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

int ResolveIntOrPercent(const Json& value, int total, bool round_up, std::string* error) {
  if (value.is_number_integer()) return static_cast<int>(value.get<long long>());
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    if (!s.empty() && s.back() == '%') {
      try {
        size_t used = 0;
        int pct = std::stoi(s.substr(0, s.size() - 1), &used);
        if (used == s.size() - 1 && pct >= 0) {
          double v = static_cast<double>(pct) * total / 100.0;
          return static_cast<int>(round_up ? std::ceil(v) : std::floor(v));
        }
      } catch (const std::exception&) {
      }
    } else {
      try {
        size_t used = 0;
        int v = std::stoi(s, &used);
        if (used == s.size()) return v;
      } catch (const std::exception&) {
      }
    }
  }
  if (value.is_null()) return 0;
  if (error) *error = "invalid int-or-percent value " + value.dump();
  return 0;
}

namespace {

void DropEmpty(Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it != obj.end() && (it->is_null() || (it->is_object() && it->empty()))) obj.erase(it);
}

}  // namespace

Json NormalizedTemplate(const Json& tmpl) {
  Json t = tmpl.is_object() ? tmpl : Json::object();
  if (!t.contains("metadata") || !t["metadata"].is_object()) t["metadata"] = Json::object();
  Json& md = t["metadata"];
  if (md.contains("labels") && md["labels"].is_object()) md["labels"].erase(kPodTemplateHashLabel);
  for (auto it = md.begin(); it != md.end();) {
    if (it.value().is_null()) it = md.erase(it);
    else ++it;
  }
  DropEmpty(md, "labels");
  DropEmpty(md, "annotations");
  DropEmpty(t, "metadata");
  return t;
}

bool EqualIgnoreHash(const Json& a, const Json& b) { return NormalizedTemplate(a) == NormalizedTemplate(b); }

std::string TemplateHash(const Json& tmpl, long long collision_count) {
  // FNV-1a 32 over the canonical JSON text (nlohmann sorts object keys), like
  // k8s ComputeHash (which uses FNV-32a over a deep-hashed template).
  std::string text = NormalizedTemplate(tmpl).dump();
  if (collision_count > 0) text += "#" + std::to_string(collision_count);
  uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string digits = std::to_string(h);  // like rand.SafeEncodeString(fmt.Sprint(hash))
  std::string out;
  for (char d : digits) out += kAlphabet[static_cast<unsigned char>(d) % (sizeof(kAlphabet) - 1)];
  return out;
}

bool SetCondition(Json& status, const std::string& type, const std::string& value, const std::string& reason,
                  const std::string& message, SimClock::TimePoint now, bool with_update_time) {
  if (!status.is_object()) status = Json::object();
  Json& conds = status["conditions"];
  if (!conds.is_array()) conds = Json::array();
  std::string ts = SimClock::FormatTime(now);
  for (auto& c : conds) {
    if (c.value("type", "") != type) continue;
    bool same_status = c.value("status", "") == value;
    if (same_status && c.value("reason", "") == reason && c.value("message", "") == message) return false;
    if (!same_status) c["lastTransitionTime"] = ts;
    c["status"] = value;
    c["reason"] = reason;
    c["message"] = message;
    if (with_update_time) c["lastUpdateTime"] = ts;
    return true;
  }
  Json c = {{"type", type}, {"status", value}, {"reason", reason}, {"message", message}, {"lastTransitionTime", ts}};
  if (with_update_time) c["lastUpdateTime"] = ts;
  conds.push_back(std::move(c));
  return true;
}

const Json& LabelsOf(const Json& obj) {
  static const Json kNull;
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return kNull;
  auto l = md->find("labels");
  return l == md->end() ? kNull : *l;
}

long long SpecInt(const Json& obj, const char* field, long long def) {
  auto s = obj.find("spec");
  if (s == obj.end() || !s->is_object()) return def;
  auto f = s->find(field);
  return f != s->end() && f->is_number_integer() ? f->get<long long>() : def;
}

long long StatusInt(const Json& obj, const char* field) {
  auto s = obj.find("status");
  if (s == obj.end() || !s->is_object()) return 0;
  auto f = s->find(field);
  return f != s->end() && f->is_number_integer() ? f->get<long long>() : 0;
}

}  // namespace kinema::sim::cluster
