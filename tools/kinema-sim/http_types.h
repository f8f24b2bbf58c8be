// Transport-neutral request/response types between the Beast server
// (http_server) and the simulator's handlers.
//
// A handler answers either with a complete HttpResponse or with a
// StreamSource (a watch): the server then sends `200` with chunked encoding
// and pulls bytes from the source whenever it calls wake().
// Thread-safety: HttpRequest/HttpResponse are values. A StreamSource is used
// by one connection; Drain/Tick/Stop run on that connection's strand, wake()
// may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kinema::sim {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request-target
  std::string path;    // percent-decoded path
  std::map<std::string, std::string> query;    // decoded; last value wins
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string remote;  // peer address, for logs

  std::string Query(const std::string& name, const std::string& def = "") const {
    auto it = query.find(name);
    return it == query.end() ? def : it->second;
  }
  bool HasQuery(const std::string& name) const { return query.count(name) > 0; }
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Fault injection (a slow peer): when > 0, the headers go at once and the
  // body is trickled in pieces over this long.
  std::chrono::milliseconds trickle{0};
};

class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Begins producing. `wake` tells the server that Drain() has bytes; it may
  // be called from any thread, any number of times.
  virtual void Start(std::function<void()> wake) = 0;
  // Bytes to send now (possibly empty). *finished = true ends the stream
  // gracefully after these bytes.
  virtual std::string Drain(bool* finished) = 0;
  // When the server must end the stream gracefully (timeoutSeconds).
  virtual std::chrono::steady_clock::time_point Deadline() const = 0;
  // Fault injection: cut the connection abruptly after this long.
  virtual std::optional<std::chrono::milliseconds> DropAfter() const = 0;
  // Period of Tick() calls (zero: never), e.g. for bookmarks.
  virtual std::chrono::milliseconds TickPeriod() const = 0;
  virtual void Tick() = 0;
  // The connection is finished; release resources. Called exactly once.
  virtual void Stop() = 0;
};

struct HandlerResult {
  HttpResponse response;
  std::shared_ptr<StreamSource> stream;  // when set, `response` is ignored
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Added latency before Handle() (fault injection); waited without blocking a thread.
  virtual std::chrono::milliseconds DelayFor(const HttpRequest& req) = 0;
  virtual HandlerResult Handle(const HttpRequest& req) = 0;
};

}  // namespace kinema::sim
