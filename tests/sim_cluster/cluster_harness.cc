#include "tests/sim_cluster/cluster_harness.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/report.h"
#include "tools/kinema-sim/subresources.h"

namespace kinema::sim::clustertest {

Json NodeItem(const std::string& name, bool ready) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
              {"spec", {{"providerID", "gce://test/us-central1-a/" + name}}},
              {"status",
               {{"capacity", {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}},
                {"allocatable", {{"cpu", "3920m"}, {"memory", "13Gi"}, {"pods", "110"}}},
                {"addresses", Json::array({{{"type", "InternalIP"}, {"address", "10.0.0.9"}}})},
                {"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
}

Json PodTemplate(const std::string& app, const std::string& image) {
  return Json{{"metadata", {{"labels", {{"app", app}}}}},
              {"spec",
               {{"terminationGracePeriodSeconds", 30},
                {"containers",
                 Json::array({{{"name", "app"},
                               {"image", image},
                               {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}}}}})}}}};
}

std::vector<Json> ConvergedDeployment(const std::string& ns, const std::string& name, int replicas,
                                      const std::vector<std::string>& nodes, const Json& strategy,
                                      const std::string& hash) {
  std::vector<Json> out;
  Json tmpl = PodTemplate(name, "shop/" + name + ":1.0");
  std::string duid = "uid-deploy-" + name, rsuid = "uid-rs-" + name;
  Json dspec = {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}, {"template", tmpl}};
  if (!strategy.is_null()) dspec["strategy"] = strategy;
  out.push_back({{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata",
                  {{"name", name}, {"namespace", ns}, {"uid", duid}, {"generation", 1},
                   {"annotations", {{"deployment.kubernetes.io/revision", "1"}}}}},
                 {"spec", dspec},
                 {"status",
                  {{"observedGeneration", 1}, {"replicas", replicas}, {"updatedReplicas", replicas},
                   {"readyReplicas", replicas}, {"availableReplicas", replicas}}}});
  Json rs_tmpl = tmpl;
  rs_tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
  std::string rsname = name + "-" + hash;
  out.push_back({{"apiVersion", "apps/v1"},
                 {"kind", "ReplicaSet"},
                 {"metadata",
                  {{"name", rsname}, {"namespace", ns}, {"uid", rsuid}, {"generation", 1},
                   {"labels", rs_tmpl["metadata"]["labels"]},
                   {"annotations", {{"deployment.kubernetes.io/revision", "1"}}},
                   {"ownerReferences",
                    Json::array({{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", name},
                                  {"uid", duid}, {"controller", true}}})}}},
                 {"spec",
                  {{"replicas", replicas},
                   {"selector", {{"matchLabels", {{"app", name}, {"pod-template-hash", hash}}}}},
                   {"template", rs_tmpl}}},
                 {"status", {{"replicas", replicas}, {"readyReplicas", replicas}, {"availableReplicas", replicas}}}});
  for (int i = 0; i < replicas; ++i) {
    std::string pname = rsname + "-p" + std::to_string(i);
    Json spec = tmpl["spec"];
    spec["nodeName"] = nodes[i % nodes.size()];
    out.push_back({{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata",
                    {{"name", pname}, {"namespace", ns}, {"uid", "uid-pod-" + pname},
                     {"creationTimestamp", "2026-01-01T00:00:00Z"},
                     {"labels", rs_tmpl["metadata"]["labels"]},
                     {"ownerReferences",
                      Json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", rsname},
                                    {"uid", rsuid}, {"controller", true}}})}}},
                   {"spec", spec},
                   {"status",
                    {{"phase", "Running"},
                     {"conditions",
                      Json::array({{{"type", "Ready"}, {"status", "True"},
                                    {"lastTransitionTime", "2026-01-01T00:00:05Z"}}})}}}});
  }
  return out;
}

Status TestBinder::Setup(SimServer& server) {
  nodes_ = std::make_unique<cluster::Informer>(&cluster::NodesType(), [](const ObjectPtr&, const ObjectPtr&) {});
  pods_ = std::make_unique<cluster::Informer>(&cluster::PodsType(), [this](const ObjectPtr&, const ObjectPtr& c) {
    if (c && c->body["spec"].value("nodeName", "").empty() && cluster::PodPhase(c->body) == "Pending" &&
        !cluster::IsTerminating(c->body)) {
      unbound_.push_back(c->ns + "/" + c->name);
    }
  });
  nodes_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  return Status::OK();
}

void TestBinder::Pump() {
  nodes_->Drain();
  pods_->Drain();
  std::vector<std::string> ready;
  for (const auto& [k, n] : nodes_->items()) {
    if (cluster::HasTrueCondition(n->body, "Ready") && !n->body["spec"].value("unschedulable", false)) {
      ready.push_back(k.second);
    }
  }
  auto todo = std::move(unbound_);
  unbound_.clear();
  if (ready.empty()) {
    unbound_ = todo;  // retried on the next event
    return;
  }
  for (const auto& key : todo) {
    size_t slash = key.find('/');
    std::string node = ready[next_++ % ready.size()];
    BindPod(&server().registry(), key.substr(0, slash), key.substr(slash + 1),
            Json{{"target", {{"kind", "Node"}, {"name", node}}}}.dump());
  }
}

Harness::Harness(const std::vector<Json>& items, Options options) {
  char tmpl[] = "/tmp/kinema-cluster-test-XXXXXX";
  dir_ = mkdtemp(tmpl);
  Json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
  std::ofstream(dir_ + "/snapshot.json") << list.dump();
  std::ofstream(dir_ + "/scenario.json") << options.scenario.dump();
  SimOptions so;
  so.snapshot = dir_ + "/snapshot.json";
  so.catalog = std::string(std::getenv("KINEMA_SOURCE_DIR") ? std::getenv("KINEMA_SOURCE_DIR") : ".") +
               "/tests/sim/data/catalog.json";
  so.kubeconfig = dir_ + "/kubeconfig";
  so.scenario = dir_ + "/scenario.json";
  so.time_scale = options.time_scale;
  so.log_level = "warn";
  server_ = std::make_unique<SimServer>(so);
  parts_ = std::make_unique<cluster::ClusterParts>();
  parts_->Register(*server_);
  if (options.binder) {
    binder_ = std::make_unique<TestBinder>();
    server_->AddComponent(binder_.get());
  }
  Status st = server_->Start();
  ok_ = st.ok();
  error_ = st.ToString();
}

Harness::~Harness() {
  server_->Stop();  // joins the io threads before the parts go away
  server_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool Harness::WaitFor(const std::function<bool()>& pred, double sim_seconds) {
  auto deadline = std::chrono::steady_clock::now() + server_->clock().WallDuration(sim_seconds);
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Harness::Sleep(double sim_seconds) { std::this_thread::sleep_for(server_->clock().WallDuration(sim_seconds)); }

std::vector<ObjectPtr> Harness::Pods(const std::string& ns, const std::string& label_selector) {
  WatchFilter f;
  f.resource = &cluster::PodsType();
  f.ns = ns;
  auto sel = LabelSelector::Parse(label_selector);
  if (sel.ok()) f.labels = sel.value();
  return store().List(f).items;
}

ObjectPtr Harness::Get(const ResourceType& rt, const std::string& ns, const std::string& name) {
  return store().Get(rt, ns, name);
}

Json Harness::Report() { return BuildReport(store(), server_->pricer(), server_->clock(), server_->stats()); }

}  // namespace kinema::sim::clustertest
