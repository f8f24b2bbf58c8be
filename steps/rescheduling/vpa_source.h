// VPA as a prediction source (prediction.source: vpa | max): planning
// requests from autoscaling.k8s.io/v1 VerticalPodAutoscaler objects'
// status.recommendation.containerRecommendations.
//
// Per VPA whose spec.targetRef is a Deployment or StatefulSet (apps/v1), each
// container recommendation's `target` becomes the planned cpu and memory
// request of that workload's container (adjustments.h's shape:
// {"<ns>/<Kind>/<name>": {"<container>": {"cpu": "250m", "memory": "..."}}});
// `upperBound` is journaled beside it. A VPA without a recommendation, with
// another target kind or with malformed quantities is skipped with a note
// naming it (one bad object never hides the rest).
// MaxAdjustments merges two adjustment maps taking, per container and
// resource, the larger request (prediction.source: max).
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kinema::rescheduling {

struct VpaPrediction {
  nlohmann::json adjustments = nlohmann::json::object();
  // [{vpa, workload, container, target: {cpu, memory}, upperBound: {cpu, memory}}]
  nlohmann::json recommendations = nlohmann::json::array();
  std::vector<std::string> notes;
};

VpaPrediction PredictFromVpas(const std::vector<nlohmann::json>& vpas);

nlohmann::json MaxAdjustments(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace kinema::rescheduling
