// engine/cloud's GKE and managed-instance-group wire code against the golden
// fixtures in tests/fixtures/gcp/ (request and response bodies of the real
// APIs, research/gke-provisioning.md). kinema-sim is tested against the same
// files (tests/sim_gce/gke_fixture_shape_test.cc), so client and fake cannot
// drift into agreeing with each other instead of with GCP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/cloud/gce_provider.h"
#include "engine/cloud/gce_wire.h"
#include "engine/cloud/gke_wire.h"
#include "engine/cloud/mig_wire.h"
#include "tests/support/json_shape.h"

namespace kinema::cloud {
namespace {

using nlohmann::json;
using testing::GcpFixture;

std::string Body(const std::string& fixture) { return GcpFixture(fixture).dump(); }

TEST(GkeFixtures, NodePoolCreateBodyIsTheRecordedRequest) {
  NodePoolSpec spec;
  spec.name = "kinema-n2-standard-8-spot";
  spec.machine_type = "n2-standard-8";
  spec.spot = true;
  spec.locations = {"us-central1-a", "us-central1-b"};
  spec.node_labels = {{kManagedPoolLabel, "true"}};
  spec.resource_labels = {{kManagedResourceLabel, "true"}};
  spec.taints = {Taint{"k", "v", "NoSchedule"}};
  EXPECT_EQ(BuildNodePoolCreateBody(spec), GcpFixture("container/nodePools.create.request.json"));
}

TEST(GkeFixtures, RunningNodePoolListsOneGroupPerZone) {
  auto pool = ParseNodePool(GcpFixture("container/nodePools.get.running.json"), "test");
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  EXPECT_EQ(pool->name, "kinema-n2-standard-8-spot");
  EXPECT_TRUE(pool->Usable());
  EXPECT_TRUE(pool->spot);
  EXPECT_EQ(pool->machine_type, "n2-standard-8");
  EXPECT_EQ(pool->node_labels.at(kManagedPoolLabel), "true");
  ASSERT_EQ(pool->taints.size(), 1u);
  EXPECT_EQ(pool->taints[0], (Taint{"k", "v", "NoSchedule"}));
  ASSERT_EQ(pool->instance_group_urls.size(), 2u);
  GroupRef g;
  ASSERT_TRUE(ParseGroupUrl(pool->instance_group_urls[1], &g));
  EXPECT_EQ(g.zone, "us-central1-b");
  EXPECT_EQ(g.name, "gke-prod-kinema-n2-standard-8-spot-6c72f0a8-grp");
  EXPECT_EQ(g.project, "my-project");
  EXPECT_FALSE(pool->autoscaling_enabled);
}

TEST(GkeFixtures, ProvisioningNodePoolIsNotUsableAndHasNoGroupsYet) {
  auto pool = ParseNodePool(GcpFixture("container/nodePools.get.provisioning.json"), "test");
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->status, "PROVISIONING");
  EXPECT_FALSE(pool->Usable());
  EXPECT_TRUE(pool->instance_group_urls.empty());
}

TEST(GkeFixtures, NodePoolListFindsTheOperatorsPoolsToo) {
  auto pools = ParseNodePoolList(GcpFixture("container/nodePools.list.json"), "test");
  ASSERT_TRUE(pools.ok());
  ASSERT_EQ(pools->size(), 2u);
  EXPECT_EQ((*pools)[0].name, "default-pool");
  EXPECT_TRUE((*pools)[0].autoscaling_enabled);
  EXPECT_TRUE((*pools)[0].node_labels.empty());
  EXPECT_EQ((*pools)[1].node_labels.at(kManagedPoolLabel), "true");
}

TEST(GkeFixtures, ClusterOperationsParseRunningDoneAndFailed) {
  auto running = ParseClusterOperation(GcpFixture("container/nodePools.create.response.json"), "test");
  ASSERT_TRUE(running.ok());
  EXPECT_FALSE(running->done());
  EXPECT_EQ(running->operation_type, "CREATE_NODE_POOL");
  EXPECT_EQ(running->target_name, "kinema-n2-standard-8-spot");
  auto done = ParseClusterOperation(GcpFixture("container/operations.get.done.json"), "test");
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done());
  EXPECT_TRUE(done->error.ok());
  auto failed = ParseClusterOperation(GcpFixture("container/operations.get.failed.json"), "test");
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE(failed->done());
  EXPECT_EQ(ClassifyCloudError(failed->error), CloudErrorKind::kQuotaExceeded) << failed->error.ToString();
  EXPECT_NE(failed->error.message().find("CPUS"), std::string::npos);
  auto list = ParseClusterOperationList(GcpFixture("container/operations.list.json"), "test");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].operation_type, "UPGRADE_MASTER");
  EXPECT_EQ((*list)[1].target_name, "prod");
}

TEST(GkeFixtures, BusyClusterAnswersAreRecognisedAndOthersAreNot) {
  EXPECT_TRUE(IsClusterBusyError(400, Body("container/error.failed_precondition.json")));
  EXPECT_TRUE(IsClusterBusyError(429, Body("container/error.too_many_operations.json")));
  EXPECT_FALSE(IsClusterBusyError(404, Body("container/error.not_found.json")));
  EXPECT_FALSE(IsClusterBusyError(409, Body("container/error.already_exists.json")));
  // The older form without the ErrorInfo detail (terraform-provider-google #3650).
  json old = GcpFixture("container/error.failed_precondition.json");
  old["error"].erase("details");
  EXPECT_TRUE(IsClusterBusyError(400, old.dump()));
  json other = old;
  other["error"]["message"] = "Node pool config is invalid.";
  EXPECT_FALSE(IsClusterBusyError(400, other.dump()));
}

TEST(GkeFixtures, ContainerErrorBodiesAreTyped) {
  EXPECT_EQ(ClassifyCloudError(GceHttpError(404, Body("container/error.not_found.json"), "get pool")),
            CloudErrorKind::kNotFound);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(409, Body("container/error.already_exists.json"), "create pool")),
            CloudErrorKind::kAlreadyExists);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(429, Body("container/error.too_many_operations.json"), "create pool")),
            CloudErrorKind::kRateLimited);
}

TEST(MigFixtures, GroupGivesItsBaseInstanceNameAndTemplate) {
  auto g = ParseInstanceGroupManager(GcpFixture("compute/instanceGroupManagers.get.json"), "test");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->base_instance_name, "gke-prod-kinema-n2-standard-8-spot-1a2b3c4d");
  EXPECT_EQ(g->zone, "us-central1-a");
  EXPECT_EQ(g->target_size, 3);
  EXPECT_FALSE(g->paginated);
  EXPECT_FALSE(g->is_stable);
  EXPECT_NE(g->instance_template.find("/regions/us-central1/instanceTemplates/"), std::string::npos);
}

TEST(MigFixtures, CreateAndDeleteInstancesBodiesAreTheRecordedRequests) {
  EXPECT_EQ(BuildCreateInstancesBody({"gke-prod-kinema-n2-standard-8-spot-1a2b3c4d-k3f9a0c1d2e"}),
            GcpFixture("compute/instanceGroupManagers.createInstances.request.json"));
  EXPECT_EQ(BuildDeleteInstancesBody("us-central1-a", {"gke-prod-kinema-n2-standard-8-spot-1a2b3c4d-k3f9a0c1d2e"}),
            GcpFixture("compute/instanceGroupManagers.deleteInstances.request.json"));
}

TEST(MigFixtures, GroupOperationsParseAsZoneOperationsTargetingTheGroup) {
  for (const char* f : {"compute/instanceGroupManagers.createInstances.response.json",
                        "compute/instanceGroupManagers.deleteInstances.response.json",
                        "compute/instanceGroupManagers.resize.response.json"}) {
    SCOPED_TRACE(f);
    auto op = ParseOperation(GcpFixture(f), "test");
    ASSERT_TRUE(op.ok());
    EXPECT_EQ(op->zone, "us-central1-a");
    EXPECT_EQ(op->target_name, "gke-prod-kinema-n2-standard-8-spot-1a2b3c4d-grp");
    EXPECT_TRUE(op->error.ok());
  }
}

TEST(MigFixtures, StuckMembersMapToTypedErrorsAsClusterAutoscalerDoes) {
  auto members = ParseManagedInstances(GcpFixture("compute/instanceGroupManagers.listManagedInstances.json"), "test");
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 5u);
  const ManagedInstance& running = (*members)[0];
  EXPECT_EQ(running.current_action, "NONE");
  EXPECT_EQ(running.instance_status, "RUNNING");
  EXPECT_EQ(running.id, "1974815549671473983");
  EXPECT_EQ(running.zone, "us-central1-a");
  EXPECT_TRUE(ManagedInstanceError(running, "m").ok());
  const ManagedInstance& stockout = (*members)[2];
  EXPECT_TRUE(IsCreatingAction(stockout.current_action));
  EXPECT_TRUE(stockout.id.empty()) << "a member stuck in CREATING has no instance yet";
  EXPECT_EQ(ClassifyCloudError(ManagedInstanceError(stockout, "m")), CloudErrorKind::kZoneResourcePoolExhausted);
  const ManagedInstance& quota = (*members)[3];
  Status q = ManagedInstanceError(quota, "m");
  EXPECT_EQ(ClassifyCloudError(q), CloudErrorKind::kQuotaExceeded);
  EXPECT_NE(q.message().find("N2_CPUS"), std::string::npos);
  EXPECT_EQ((*members)[4].current_action, "DELETING");
}

TEST(MigFixtures, OtherLastAttemptCodesAreNotCapacity) {
  ManagedInstance m;
  m.name = "n";
  m.current_action = "CREATING";
  for (const char* code : {"IP_SPACE_EXHAUSTED", "PERMISSIONS_ERROR", "CONDITION_NOT_MET"}) {
    m.errors = {{code, "x"}};
    EXPECT_EQ(ClassifyCloudError(ManagedInstanceError(m, "m")), CloudErrorKind::kOther) << code;
  }
  for (const char* code : {"RESOURCE_POOL_EXHAUSTED", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
                           "INSUFFICIENT_CAPACITY"}) {
    m.errors = {{code, "x"}};
    EXPECT_EQ(ClassifyCloudError(ManagedInstanceError(m, "m")), CloudErrorKind::kZoneResourcePoolExhausted) << code;
  }
  m.errors = {{"REGIONAL_QUOTA_EXCEEDED", "x"}};
  EXPECT_EQ(ClassifyCloudError(ManagedInstanceError(m, "m")), CloudErrorKind::kQuotaExceeded);
}

TEST(MigFixtures, ListErrorsItemsNameTheInstanceAndAction) {
  json j = GcpFixture("compute/instanceGroupManagers.listErrors.json");
  ASSERT_TRUE(j["items"].is_array());
  EXPECT_EQ(j["items"][0]["error"]["code"], "ZONE_RESOURCE_POOL_EXHAUSTED");
  EXPECT_EQ(j["items"][0]["instanceActionDetails"]["action"], "CREATING");
}

TEST(MigFixtures, MemberInstanceNamesItsGroupInCreatedBy) {
  auto in = ParseInstance(GcpFixture("compute/instances.get.gke-member.json"), "test");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->capacity, CapacityType::kSpot);
  GroupRef g;
  ASSERT_TRUE(ParseCreatedBy(in->metadata.at("created-by"), &g));
  EXPECT_EQ(g.project, "123456789012") << "created-by carries the project number";
  EXPECT_EQ(g.zone, "us-central1-a");
  EXPECT_EQ(g.name, "gke-prod-kinema-n2-standard-8-spot-1a2b3c4d-grp");
  GroupRef from_pool;
  ASSERT_TRUE(ParseGroupUrl(
      "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/instanceGroupManagers/"
      "gke-prod-kinema-n2-standard-8-spot-1a2b3c4d-grp",
      &from_pool));
  EXPECT_TRUE(g.SameGroup(from_pool)) << "groups compare by zone and name, not by how the project is spelled";
}

TEST(MigFixtures, GkeTemplateCarriesKubeEnvWithThePoolsLabelsAndTaints) {
  auto t = ParseInstanceTemplate(GcpFixture("compute/regionInstanceTemplates.get.gke.json"), "test");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->regional);
  EXPECT_EQ(t->machine_type, "n2-standard-8");
  ASSERT_TRUE(t->metadata.count("kube-env"));
  auto env = ParseKubeEnv(t->metadata.at("kube-env"));
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->node_labels.at("cloud.google.com/gke-nodepool"), "kinema-n2-standard-8-spot");
  EXPECT_EQ(env->node_labels.at(kManagedPoolLabel), "true");
  ASSERT_EQ(env->taints.size(), 1u);
  EXPECT_EQ(env->taints[0], (Taint{"k", "v", "NoSchedule"}));
  EXPECT_EQ(env->values.at("CLUSTER_NAME"), "prod");
}

TEST(MigFixtures, KubeEnvWithoutAutoscalerVarsFallsBackToNodeLabels) {
  auto env = ParseKubeEnv("NODE_LABELS: a=1,b=2\nNODE_TAINTS: t=x:NoExecute\n");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->node_labels.size(), 2u);
  EXPECT_EQ(env->taints[0].effect, "NoExecute");
  EXPECT_FALSE(ParseKubeEnv("NODE_TAINTS: broken\n").ok());
  EXPECT_FALSE(ParseKubeEnv("- a\n- b\n").ok());
}

TEST(GceFixtures, InsertFromTemplateOverridesOnlyTypeZoneSpotAndLabels) {
  auto t = ParseInstanceTemplate(GcpFixture("compute/instanceTemplates.get.self-managed.json"), "test");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->regional);
  EXPECT_TRUE(t->metadata.count("startup-script"));
  InstanceSpec spec;
  spec.name = "kinema-3f1c0a9b2d4e6f70";
  spec.zone = "us-central1-b";
  spec.machine_type = "e2-standard-8";
  spec.capacity = CapacityType::kSpot;
  spec.labels = {{"kinema-workflow", "kinema-rescheduling-20261204t101500z"}, {"kinema-planned", "new-1"}};
  EXPECT_EQ(BuildInsertFromTemplateBody(spec, t->labels),
            GcpFixture("compute/instances.insert.from-template.request.json"));
}

TEST(GceFixtures, TemplateReferencesNormaliseToApiPaths) {
  EXPECT_EQ(*InstanceTemplatePath("global/instanceTemplates/t", "p"), "projects/p/global/instanceTemplates/t");
  EXPECT_EQ(*InstanceTemplatePath("projects/q/regions/r1/instanceTemplates/t", "p"),
            "projects/q/regions/r1/instanceTemplates/t");
  EXPECT_EQ(*InstanceTemplatePath("https://www.googleapis.com/compute/v1/projects/q/global/instanceTemplates/t", "p"),
            "projects/q/global/instanceTemplates/t");
  EXPECT_FALSE(InstanceTemplatePath("t", "p").ok());
  EXPECT_FALSE(InstanceTemplatePath("projects/q/zones/z/instances/t", "p").ok());
}

TEST(GceProviderTemplate, RealEndpointWithoutATemplateRefusesToBootAndSaysWhatToConfigure) {
  GceOptions o;
  o.project = "my-project";  // the real endpoint: nothing is sent
  auto p = GceCloudProvider::Create(o, NewNoTokenSource(), nullptr);
  ASSERT_TRUE(p.ok());
  InstanceSpec s;
  s.name = "kinema-a";
  s.zone = "us-central1-a";
  s.machine_type = "e2-standard-4";
  s.idempotency_key = "k";
  auto op = (*p)->InsertInstance(s);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(op.status().message().find("cloud.instanceTemplate"), std::string::npos) << op.status().ToString();
  EXPECT_NE(op.status().message().find("cloud.provider: gke"), std::string::npos);
}

TEST(Names, GroupMemberNamesAreDeterministicPrefixedAndFit63) {
  std::string base = "gke-prod-kinema-n2-standard-8-spot-1a2b3c4d";
  std::string a = GroupMemberNameFor(base, "wf/new-1/us-central1-a/n2-standard-8");
  EXPECT_EQ(a, GroupMemberNameFor(base, "wf/new-1/us-central1-a/n2-standard-8"));
  EXPECT_NE(a, GroupMemberNameFor(base, "wf/new-2/us-central1-a/n2-standard-8"));
  EXPECT_EQ(a.rfind(base + "-k", 0), 0u);
  EXPECT_LE(a.size(), 63u);
  EXPECT_TRUE(ValidateInstanceName(a).ok());
  std::string long_base(60, 'x');
  std::string b = GroupMemberNameFor(long_base, "k");
  EXPECT_LE(b.size(), 63u);
  EXPECT_TRUE(ValidateInstanceName(b).ok());
}

TEST(Names, NodePoolNamesAreValidAndDistinct) {
  EXPECT_EQ(NodePoolNameFor("n2-standard-8", CapacityType::kSpot), "kinema-n2-standard-8-spot");
  EXPECT_EQ(NodePoolNameFor("e2-standard-4", CapacityType::kOnDemand), "kinema-e2-standard-4-od");
  std::string a = NodePoolNameFor("m3-megamem-128-with-a-very-long-suffix", CapacityType::kSpot);
  std::string b = NodePoolNameFor("m3-megamem-128-with-a-very-long-suffix", CapacityType::kOnDemand);
  EXPECT_TRUE(IsValidNodePoolName(a)) << a;
  EXPECT_TRUE(IsValidNodePoolName(b)) << b;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kinema::cloud
