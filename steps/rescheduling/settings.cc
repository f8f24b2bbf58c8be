#include "steps/rescheduling/settings.h"

namespace kinema::rescheduling {

using namespace config;

Fields ReschedulingSettings::Sections() {
  return {
      {"rescheduling", Map({})},
      {"stability", Map({{"quietWindow", Dur(&stability.quiet_window)},
                         {"deadline", Dur(&stability.deadline)},
                         {"pollInterval", Dur(&stability.poll_interval)},
                         {"maxHpaUtilization", Num(&stability.max_hpa_utilization, 0, 10)}})},
      {"prediction", Map({{"window", Dur(&prediction.window)},
                          {"horizon", Dur(&prediction.horizon)},
                          {"step", Dur(&prediction.step)},
                          {"rateWindow", Dur(&prediction.rate_window)},
                          {"factor", Num(&prediction.factor, 0, 1)},
                          {"headroom", Num(&prediction.headroom, 1, 10)},
                          {"source", OneOf(&prediction.source, {"prometheus", "vpa", "max", "none"})}})},
      {"optimizer", Map({{"timeLimit", Dur(&optimizer.time_limit)},
                         {"maxMoves", Int64(&optimizer.max_moves, -1, 10000000)},
                         {"headroom", Num(&optimizer.headroom, 0, 1)},
                         {"seed", Uint64(&optimizer.seed, 0, UINT64_MAX)},
                         {"allowTypes", StrList(&optimizer.allow_types)},
                         {"noSpot", Bool(&optimizer.no_spot)}})},
      {"decision", Map({{"minSavings", Num(&decision.min_savings, 0, 1)},
                        {"maxChange", Num(&decision.max_change, 0, 1)},
                        {"maxNodesRetired", Int(&decision.max_nodes_retired, 0, 100000)},
                        {"maxPodsMoved", Int(&decision.max_pods_moved, 0, 10000000)},
                        {"minNodeAge", Dur(&decision.min_node_age)}})},
      {"boot", Map({{"timeout", Dur(&boot.timeout)}, {"parallelism", Int(&boot.parallelism, 1, 1000)}})},
      {"rollout", Map({{"maxConcurrent", Int(&rollout.max_concurrent, 1, 1000)},
                       {"timeout", Dur(&rollout.timeout)},
                       {"stallTimeout", Dur(&rollout.stall_timeout)},
                       {"holdRoomShare", Num(&rollout.hold_room_share, 0, 1)}})},
      {"drain", Map({{"timeout", Dur(&drain.timeout)}})},
      {"loop", Map({{"cooldown", Custom([this](const YAML::Node& n, const std::string& p) -> Status {
                      Duration d{0};
                      KINEMA_RETURN_IF_ERROR(Walk(n, Dur(&d), p));
                      loop_cooldown = d;
                      return Status::OK();
                    })}})},
  };
}

}  // namespace kinema::rescheduling
