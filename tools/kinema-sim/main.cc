// kinema-sim: an in-memory Kubernetes API server (simulated cluster) for
// Kinema's tests. See sim_options.h for flags and README.md for behaviour.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "tools/kinema-sim/cluster/cluster_parts.h"
#include "tools/kinema-sim/gce/fake_billing.h"
#include "tools/kinema-sim/gce/fake_gce.h"
#include "tools/kinema-sim/kubevirt/eviction_interceptor.h"
#include "tools/kinema-sim/kubevirt/vm_controller.h"
#include "tools/kinema-sim/runner/process_kubelet.h"
#include "tools/kinema-sim/scheduler/scheduler.h"
#include "tools/kinema-sim/sim_options.h"
#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/hpa_controller.h"
#include "tools/kinema-sim/usage/prometheus_standin.h"
#include "tools/kinema-sim/usage/usage_component.h"
#include "tools/kinema-sim/vpa/vpa_recommender.h"

int main(int argc, char** argv) {
  kinema::sim::SimOptions options;
  std::string error;
  switch (kinema::sim::ParseSimOptions(argc, argv, &options, &error)) {
    case kinema::sim::ParseOutcome::kHelp:
      std::fputs(kinema::sim::SimUsage(), stdout);
      return 0;
    case kinema::sim::ParseOutcome::kError:
      std::fprintf(stderr, "kinema-sim: %s\n", error.c_str());
      return 2;
    case kinema::sim::ParseOutcome::kRun:
      break;
  }
  auto logger = spdlog::stderr_color_mt("kinema-sim");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  auto level = spdlog::level::from_str(options.log_level);
  if (level == spdlog::level::off && options.log_level != "off") {
    std::fprintf(stderr, "kinema-sim: invalid value '%s' for --log-level\n", options.log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);

  // Block termination signals before any thread starts; wait for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  kinema::sim::SimServer server(options);
  // Living-cluster parts (issue 4): each registers its routes here and is
  // started by server.Start() in registration order (sim_component.h).
  // -- parts begin
  // --api-only leaves them all out (the API server alone, for conformance tests).
  std::unique_ptr<kinema::sim::usage::UsageComponent> usage_model;
  std::unique_ptr<kinema::sim::usage::HpaController> hpa;
  kinema::sim::sched::SchedulerComponent scheduler;
  kinema::sim::cluster::ClusterParts cluster;
  kinema::sim::gce::FakeGce gce;
  std::unique_ptr<kinema::sim::vpa::VpaRecommender> vpa;
  kinema::sim::kubevirt::VmController vms;
  kinema::sim::gce::FakeBilling billing;
  if (!options.api_only) {
    // usage: usage model, /metrics, metrics.k8s.io, HPA controller (usage/).
    usage_model = std::make_unique<kinema::sim::usage::UsageComponent>(&server);
    server.AddComponent(usage_model.get());
    hpa = std::make_unique<kinema::sim::usage::HpaController>(usage_model.get());
    server.AddComponent(hpa.get());
    // A Prometheus API stand-in under /prometheus/ (hostile-peer tests).
    kinema::sim::usage::RegisterPrometheusStandIn(&server, usage_model.get());
    // scheduler: the simulated kube-scheduler (scheduler/).
    server.AddComponent(&scheduler);
    // Controllers, kubelet, PodGC, scale events (cluster/); its kubelet takes
    // over pod termination from the built-in PodTerminator.
    cluster.Register(server);
    // The kubelet's best-effort check before lowering a memory limit reads the usage model.
    cluster.kubelet.SetMemoryUsageProbe(
        [usage = usage_model.get()](const std::string& ns, const std::string& pod, const std::string& container) {
          return usage->ContainerMemoryBytes(ns, pod, container);
        });
    // gce: fake Compute Engine API under /compute/v1/ and GKE API under
    // /container/v1/, instances → Nodes, cloud accounting for the report,
    // and the Cloud Billing Catalog under /cloudbilling/v1/ (gce/).
    gce.Attach(server);
    billing.Attach(server);
    // vpa: the VerticalPodAutoscaler recommender (vpa/).
    vpa = std::make_unique<kinema::sim::vpa::VpaRecommender>(usage_model.get());
    server.AddComponent(vpa.get());
    // kubevirt: VirtualMachines' launcher pods, eviction interceptor, live migration (kubevirt/).
    server.AddValidatingWebhook(kinema::sim::kubevirt::MakeEvictionInterceptor(&server));
    server.AddComponent(&vms);
  }
  // runner: the run-image kubelet (issue 20) — pods whose image --run-image
  // maps run as real processes; the simulated kubelet leaves them alone.
  std::unique_ptr<kinema::sim::runner::ProcessKubelet> process_kubelet;
  if (!options.run_images.empty()) {
    auto images = kinema::sim::runner::ImageMap::Parse(options.run_images);
    if (!images.ok()) {
      std::fprintf(stderr, "kinema-sim: %s\n", images.status().message().c_str());
      return 2;
    }
    process_kubelet = std::make_unique<kinema::sim::runner::ProcessKubelet>(std::move(images.value()));
    auto* pk = process_kubelet.get();
    cluster.kubelet.SetRunsElsewhere([pk](const nlohmann::json& pod) { return pk->Runs(pod); });
    server.SetPodLogHandler([pk](const kinema::sim::HttpRequest& req, const std::string& ns, const std::string& name) {
      return pk->Logs(req, ns, name);
    });
    server.AddComponent(pk);
  }
  // -- parts end
  kinema::Status st = server.Start();
  if (!st.ok()) {
    server.Stop();
    std::fprintf(stderr, "kinema-sim: %s\n", st.ToString().c_str());
    bool usage = st.code() == kinema::Status::Code::kInvalidArgument || st.code() == kinema::Status::Code::kNotFound;
    return usage ? 2 : 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {} received; shutting down", sig);
  server.Stop();
  return 0;
}
