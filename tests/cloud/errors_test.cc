#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"
#include "engine/cloud/gce_wire.h"

namespace kinema::cloud {
namespace {

using nlohmann::json;

std::string Body(int code, const std::string& reason, const std::string& message) {
  return json{{"error",
               {{"code", code},
                {"message", message},
                {"errors", json::array({{{"domain", "global"}, {"reason", reason}, {"message", message}}})}}}}
      .dump();
}

TEST(CloudErrorTest, KindSurvivesContextAndTheJournal) {
  Status s = MakeCloudError(CloudErrorKind::kZoneResourcePoolExhausted, "insert x");
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(ClassifyCloudError(s), CloudErrorKind::kZoneResourcePoolExhausted);
  Status wrapped = s.WithContext("node boot").WithContext("workflow 7");
  EXPECT_EQ(ClassifyCloudError(wrapped), CloudErrorKind::kZoneResourcePoolExhausted);
  // Round trip through text (what the journal stores): rebuilt with the same code.
  Status reloaded = Status::ResourceExhausted(wrapped.message());
  EXPECT_EQ(ClassifyCloudError(reloaded), CloudErrorKind::kZoneResourcePoolExhausted);
  EXPECT_EQ(ClassifyCloudError(MakeCloudError(CloudErrorKind::kQuotaExceeded, "q")), CloudErrorKind::kQuotaExceeded);
  EXPECT_TRUE(IsCapacityError(CloudErrorKind::kQuotaExceeded));
  EXPECT_FALSE(IsCapacityError(CloudErrorKind::kUnavailable));
}

TEST(CloudErrorTest, UntaggedStatusesClassifyByCode) {
  EXPECT_EQ(ClassifyCloudError(Status::OK()), CloudErrorKind::kNone);
  EXPECT_EQ(ClassifyCloudError(Status::NotFound("x")), CloudErrorKind::kNotFound);
  EXPECT_EQ(ClassifyCloudError(Status::AlreadyExists("x")), CloudErrorKind::kAlreadyExists);
  EXPECT_EQ(ClassifyCloudError(Status::DeadlineExceeded("x")), CloudErrorKind::kDeadlineExceeded);
  EXPECT_EQ(ClassifyCloudError(Status::Internal("x")), CloudErrorKind::kOther);
  // A tag-like text that names no kind does not fool it.
  EXPECT_EQ(ClassifyCloudError(Status::NotFound("x [cloud:bogus]")), CloudErrorKind::kNotFound);
  EXPECT_EQ(ClassifyCloudError(MakeCloudError(CloudErrorKind::kNone, "x")), CloudErrorKind::kOther);
}

TEST(GceHttpErrorTest, ClassifiesRealGceBodies) {
  EXPECT_EQ(ClassifyCloudError(GceHttpError(409, Body(409, "alreadyExists", "The resource 'x' already exists"), "w")),
            CloudErrorKind::kAlreadyExists);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(404, Body(404, "notFound", "The resource 'x' was not found"), "w")),
            CloudErrorKind::kNotFound);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(403, Body(403, "quotaExceeded", "Quota 'CPUS' exceeded"), "w")),
            CloudErrorKind::kQuotaExceeded);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(403, Body(403, "rateLimitExceeded", "Rate Limit Exceeded"), "w")),
            CloudErrorKind::kRateLimited);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(429, Body(429, "rateLimitExceeded", "x"), "w")), CloudErrorKind::kRateLimited);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(403, Body(403, "forbidden", "Required 'compute.instances.create'"), "w")),
            CloudErrorKind::kPermissionDenied);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(400, Body(400, "invalid", "Invalid value"), "w")), CloudErrorKind::kInvalid);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(400, Body(400, "resourceNotReady", "The resource 'x' is not ready"), "w")),
            CloudErrorKind::kUnavailable);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(503, Body(503, "backendError", "x"), "w")), CloudErrorKind::kUnavailable);
  EXPECT_EQ(ClassifyCloudError(GceHttpError(502, "<html>bad gateway</html>", "w")), CloudErrorKind::kUnavailable);
  // A 409 we cannot read is a conflict, not "already exists" (that would make a boot look done).
  Status conflict = GceHttpError(409, "not json", "w");
  EXPECT_NE(ClassifyCloudError(conflict), CloudErrorKind::kAlreadyExists);
  EXPECT_EQ(conflict.code(), Status::Code::kConflict);
}

TEST(GceHttpErrorTest, MessageNamesWhatCodeAndReason) {
  Status s = GceHttpError(404, Body(404, "notFound", "The resource 'projects/p/zones/z/instances/n' was not found"),
                          "gce get instance z/n");
  EXPECT_NE(s.message().find("gce get instance z/n: HTTP 404 notFound: The resource"), std::string::npos) << s.message();
}

TEST(GceHttpErrorTest, ReasonsFromDetailsAndStatusAndOAuthBodies) {
  json details{{"error",
                {{"code", 403},
                 {"message", "m"},
                 {"status", "PERMISSION_DENIED"},
                 {"details", json::array({{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                           {"reason", "RATE_LIMIT_EXCEEDED"}}})}}}};
  EXPECT_EQ(GceErrorReason(details.dump()), "RATE_LIMIT_EXCEEDED");
  EXPECT_EQ(GceErrorKind(403, details.dump()), CloudErrorKind::kRateLimited);
  json status_only{{"error", {{"code", 403}, {"message", "m"}, {"status", "PERMISSION_DENIED"}}}};
  EXPECT_EQ(GceErrorReason(status_only.dump()), "PERMISSION_DENIED");
  EXPECT_EQ(GceErrorKind(403, status_only.dump()), CloudErrorKind::kPermissionDenied);
  json oauth{{"error", "invalid_token"}, {"error_description", "expired"}};
  EXPECT_EQ(GceErrorReason(oauth.dump()), "invalid_token");
  EXPECT_EQ(GceErrorKind(401, oauth.dump()), CloudErrorKind::kPermissionDenied);
}

TEST(OperationErrorTest, ErrorsInsideADoneOperation) {
  json quota{{"name", "op"},
             {"status", "DONE"},
             {"error", {{"errors", json::array({{{"code", "QUOTA_EXCEEDED"},
                                                 {"message", "Quota 'CPUS' exceeded.  Limit: 24.0 in region r."}}})}}},
             {"httpErrorStatusCode", 403},
             {"httpErrorMessage", "FORBIDDEN"}};
  Status q = OperationError(quota, "insert");
  EXPECT_EQ(ClassifyCloudError(q), CloudErrorKind::kQuotaExceeded);
  EXPECT_NE(q.message().find("Quota 'CPUS' exceeded"), std::string::npos);
  EXPECT_NE(q.message().find("(HTTP 403)"), std::string::npos);
  json stockout = quota;
  stockout["error"]["errors"][0]["code"] = "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS";
  stockout["httpErrorStatusCode"] = 503;
  EXPECT_EQ(ClassifyCloudError(OperationError(stockout, "insert")), CloudErrorKind::kZoneResourcePoolExhausted);
  json exists = quota;
  exists["error"]["errors"][0]["code"] = "RESOURCE_ALREADY_EXISTS";
  exists["httpErrorStatusCode"] = 409;
  EXPECT_EQ(ClassifyCloudError(OperationError(exists, "insert")), CloudErrorKind::kAlreadyExists);
  json unknown = quota;
  unknown["error"]["errors"][0]["code"] = "SOMETHING_NEW";
  unknown["httpErrorStatusCode"] = 400;
  EXPECT_EQ(ClassifyCloudError(OperationError(unknown, "insert")), CloudErrorKind::kInvalid);
  json http_only{{"name", "op"}, {"status", "DONE"}, {"httpErrorStatusCode", 404}, {"httpErrorMessage", "NOT FOUND"}};
  EXPECT_EQ(ClassifyCloudError(OperationError(http_only, "delete")), CloudErrorKind::kNotFound);
  json ok{{"name", "op"}, {"status", "DONE"}};
  EXPECT_TRUE(OperationError(ok, "insert").ok());
}

}  // namespace
}  // namespace kinema::cloud
