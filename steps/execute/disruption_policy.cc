#include "steps/execute/disruption_policy.h"

#include "engine/common/time.h"
#include "engine/kube/object.h"

namespace kinema::execute {

std::string DoNotDisruptReason(const nlohmann::json& object, int64_t now_ms) {
  auto annotations = kube::obj::Annotations(object);
  auto it = annotations.find(kDoNotDisrupt);
  if (it == annotations.end()) return "";
  const std::string& value = it->second;
  if (value == "true") return std::string("annotated ") + kDoNotDisrupt + "=true";
  if (value == "false") return "";
  auto d = ParseDuration(value);
  if (!d.ok()) return std::string("annotated ") + kDoNotDisrupt + "='" + value + "' (not true, false or a duration: treated as true)";
  auto created = ParseRfc3339Ms(kube::obj::StringAt(object, "metadata.creationTimestamp"));
  if (!created) return std::string("annotated ") + kDoNotDisrupt + "=" + value + " and its age is unknown";
  int64_t until = *created + d->count();
  if (now_ms < until) {
    return std::string("annotated ") + kDoNotDisrupt + "=" + value + ": protected until " + FormatRfc3339(until);
  }
  return "";
}

std::string WhyPodCannotMove(const nlohmann::json& pod, int64_t now_ms) {
  if (kube::pod::IsMirrorPod(pod)) return "mirror (static) pod";
  std::string protect = DoNotDisruptReason(pod, now_ms);
  if (!protect.empty()) return protect;
  if (kube::obj::ControllerKind(pod).empty()) return "no controller would recreate it";
  return "";
}

}  // namespace kinema::execute
