#include "steps/execute/execution_deps.h"

#include <spdlog/spdlog.h>

#include "engine/kube/object.h"

namespace kinema::execute {

void AnnounceEvent(kube::Client* kube, const nlohmann::json& involved, const std::string& type,
                   const std::string& reason, const std::string& message) {
  if (kube == nullptr) return;
  Status st = kube->RecordEvent(involved, type, reason, message);
  if (!st.ok()) {
    spdlog::warn("event {} about {} {} not recorded: {}", reason, kube::obj::StringAt(involved, "kind"),
                 kube::obj::Name(involved), st.ToString());
  }
}

std::string KeyOf(const nlohmann::json& object) { return kube::obj::Key(object); }

}  // namespace kinema::execute
