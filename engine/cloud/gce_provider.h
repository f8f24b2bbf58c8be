// GceCloudProvider: CloudProvider over the real Compute Engine REST API v1
// (also what kinema-sim's fake GCE under /compute/v1/ serves).
//
// Contract:
//   - Endpoint: options.endpoint, default https://compute.googleapis.com/compute/v1
//     (config key cloud.endpoint); every path is
//     <endpoint>/projects/<project>/zones/<zone>/...
//   - instances.insert is POSTed with ?requestId=RequestIdFor("instances.insert",
//     key) and instances.delete with ?requestId=RequestIdFor("instances.delete",
//     key): a retried or resumed mutation is deduplicated by GCE itself.
//   - WaitOperation loops on zoneOperations.wait (which returns at DONE or
//     near a 2-minute server deadline, sometimes at once) until DONE or the
//     caller's deadline; if the endpoint does not implement .../wait (404/405/
//     501 while GET of the operation works) it polls zoneOperations.get.
//   - Retries: connection failures, request timeouts, 5xx (not 501), 429 and
//     403 rateLimitExceeded and 400 resourceNotReady (another operation on
//     the instance still running) are retried with jittered exponential backoff
//     (options.retry, honouring Retry-After); no other 4xx is retried. One
//     401 drops the cached token and retries with a fresh one. Every request
//     has a timeout (options.request_timeout; wait calls get
//     options.wait_request_timeout, capped by the caller's deadline).
//   - ListInstances lists each zone (filter.zones, else options.zones) with
//     a server-side label filter and pagination, and applies the label and
//     name-prefix filter again on the client, so a server that ignores
//     `filter` cannot widen the result. With no zone at all it uses
//     aggregated/instances.
//   - When options.zones is non-empty, mutations in other zones are refused
//     (kInvalidArgument) before anything is sent.
//   - Tokens come from the TokenSource and are never logged.
// Thread-safety: safe for concurrent use (HttpClient and TokenSource are).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/cloud/cloud_provider.h"
#include "engine/cloud/gce_wire.h"
#include "engine/cloud/token_source.h"
#include "engine/http/http_client.h"
#include "engine/kube/retry_policy.h"

namespace kinema::cloud {

inline constexpr const char* kDefaultGceEndpoint = "https://compute.googleapis.com/compute/v1";

struct GceOptions {
  std::string endpoint = kDefaultGceEndpoint;
  std::string project;                       // required
  std::vector<std::string> zones;            // allowed zones; empty = any
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds wait_request_timeout{150000};  // > the server's 2-minute wait
  std::chrono::milliseconds poll_interval{1000};  // between early-returning waits / polls
  kube::RetryPolicy retry;                   // 5 attempts, 200 ms .. 5 s
  BootTemplate boot;
};

class GceCloudProvider : public CloudProvider {
 public:
  // `http` may be shared with other adapters. Fails on an empty project or
  // an endpoint that is not http(s).
  static StatusOr<std::unique_ptr<GceCloudProvider>> Create(GceOptions options, std::unique_ptr<TokenSource> tokens,
                                                            std::shared_ptr<const http::HttpClient> http);

  StatusOr<Operation> InsertInstance(const InstanceSpec& spec) override;
  StatusOr<Instance> GetInstance(const std::string& zone, const std::string& name) override;
  StatusOr<std::vector<Instance>> ListInstances(const InstanceFilter& filter) override;
  StatusOr<Operation> DeleteInstance(const std::string& zone, const std::string& name,
                                     const std::string& idempotency_key) override;
  StatusOr<Operation> WaitOperation(const Operation& op, Clock::time_point deadline) override;
  StatusOr<std::vector<MachineTypeInfo>> ListMachineTypes(const std::string& zone) override;
  StatusOr<MachineTypeInfo> GetMachineType(const std::string& zone, const std::string& name) override;
  std::string Describe() const override;

  const GceOptions& options() const { return options_; }

 private:
  GceCloudProvider(GceOptions options, std::unique_ptr<TokenSource> tokens,
                   std::shared_ptr<const http::HttpClient> http);

  struct CallResult {
    long status = 0;
    std::string body;
  };
  struct CallOptions {
    std::chrono::milliseconds timeout{0};            // 0 = options_.request_timeout
    Clock::time_point deadline = Clock::time_point::max();  // no attempt/sleep beyond it
    bool raw_errors = false;  // final non-2xx returned as a CallResult, not a Status
  };
  // One API call with retries. Returns the response for 2xx; a typed Status
  // otherwise (`what` as context).
  StatusOr<CallResult> Call(const std::string& method, const std::string& url, const std::string& body,
                            const std::string& what, const CallOptions& call);
  StatusOr<CallResult> Call(const std::string& method, const std::string& url, const std::string& body,
                            const std::string& what) {
    return Call(method, url, body, what, CallOptions{});
  }
  std::string ZoneUrl(const std::string& zone) const;
  Status CheckZone(const std::string& zone, const std::string& what) const;
  StatusOr<std::vector<Instance>> ListZone(const std::string& zone, const InstanceFilter& filter);
  StatusOr<std::vector<Instance>> ListAggregated(const InstanceFilter& filter);

  GceOptions options_;
  std::unique_ptr<TokenSource> tokens_;
  std::shared_ptr<const http::HttpClient> http_;
};

// Picks the token source for a configuration: a token file when given; the
// metadata server when the endpoint is Google's (empty or *.googleapis.com);
// otherwise none (kinema-sim and other test endpoints accept no token).
std::unique_ptr<TokenSource> ChooseTokenSource(const std::string& endpoint, const std::string& token_file,
                                               std::shared_ptr<const http::HttpClient> http);

// Percent-encodes a query parameter value (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s);

}  // namespace kinema::cloud
