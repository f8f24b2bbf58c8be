// Fuzz target: Kubernetes answers as kube::Client decodes them — single
// objects, list pages, watch-stream lines and Status errors (with the HTTP
// code taken from the first input line) — and the object accessors the
// steps use on what comes out.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/common/text.h"
#include "engine/kube/api_error.h"
#include "engine/kube/client.h"
#include "engine/kube/object.h"

using namespace kinema;
using namespace kinema::kube;

namespace {

void TouchObject(const Json& o) {
  (void)obj::Key(o);
  (void)obj::Uid(o);
  (void)obj::Generation(o);
  (void)obj::Labels(o);
  (void)obj::Annotations(o);
  (void)obj::IsTerminating(o);
  (void)obj::ControllerKind(o);
  (void)obj::ControllerName(o);
  (void)pod::IsReady(o);
  (void)pod::IsDaemonSetPod(o);
  (void)pod::IsMirrorPod(o);
  (void)pod::Phase(o);
  (void)node::IsReady(o);
  (void)node::IsUnschedulable(o);
  (void)node::Allocatable(o, "cpu");
}

void MustBeValidText(const Status& s) {
  if (!IsValidUtf8(s.message())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  int code = 0;
  if (nl != std::string_view::npos && nl <= 3) {
    for (char c : in.substr(0, nl)) code = c >= '0' && c <= '9' ? code * 10 + (c - '0') : code;
    in.remove_prefix(nl + 1);
  }
  const std::string body(in);
  if (code >= 400) {
    ApiError e = ApiError::Parse(code, body);
    if (!IsValidUtf8(e.message) || e.causes.size() > ApiError::kMaxCauses) std::abort();
    MustBeValidText(e.ToStatus("get pods shop/x"));
    (void)e.Describe();
    return 0;
  }
  auto object = DecodeObject(200, body, "get pods shop/x");
  if (object.ok()) TouchObject(*object);
  else MustBeValidText(object.status());
  auto page = DecodeListPage(200, body, resources::kPods, "list pods");
  if (page.ok()) {
    for (const auto& item : page->items) TouchObject(item);
  } else {
    MustBeValidText(page.status());
  }
  // Every line as a watch event.
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\n', start);
    std::string_view line = std::string_view(body).substr(start, end == std::string::npos ? std::string::npos : end - start);
    WatchLineResult r = DecodeWatchLine(line, resources::kPods, "watch pods");
    if (r.event) TouchObject(r.event->object);
    else if (!r.skip) MustBeValidText(r.error);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  (void)ParseRetryAfter(body.substr(0, 32));
  return 0;
}
