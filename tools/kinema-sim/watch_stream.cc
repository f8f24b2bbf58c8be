#include "tools/kinema-sim/watch_stream.h"

namespace kinema::sim {

WatchStream::WatchStream(ObjectStore* store, WatchFilter filter, Options options)
    : store_(store),
      filter_(std::move(filter)),
      options_(std::move(options)),
      deadline_(std::chrono::steady_clock::now() + options_.timeout) {}

void WatchStream::Start(std::function<void()> wake) {
  auto w = store_->Watch(filter_, options_.from_rv, wake);
  if (!w.ok()) {
    pending_error_ = R"({"type":"ERROR","object":)" + w.error().ToStatusJson().dump() + "}\n";
  } else {
    watcher_ = w.value();
  }
  wake();
}

std::string WatchStream::Drain(bool* finished) {
  *finished = false;
  if (!pending_error_.empty()) {
    *finished = true;
    return std::move(pending_error_);
  }
  if (!watcher_) {
    *finished = true;
    return "";
  }
  if (watcher_->overflowed()) {
    *finished = true;
    return "";
  }
  std::string out;
  for (const WatchItem& item : watcher_->Take()) {
    if (item.kind == WatchItem::Kind::kBookmark) {
      const ResourceType* rt = item.resource;
      nlohmann::json obj = {{"kind", rt ? rt->kind : "Status"},
                            {"apiVersion", rt ? rt->ApiVersion() : "v1"},
                            {"metadata", {{"resourceVersion", std::to_string(item.rv)}}}};
      out += R"({"type":"BOOKMARK","object":)" + obj.dump() + "}\n";
      continue;
    }
    out += R"({"type":")" + item.type + R"(","object":)";
    out += options_.encode ? options_.encode(*item.object, item.type) : item.object->text;
    out += "}\n";
  }
  return out;
}

std::chrono::milliseconds WatchStream::TickPeriod() const {
  return options_.bookmarks ? options_.bookmark_period : std::chrono::milliseconds(0);
}

void WatchStream::Tick() {
  if (!watcher_) return;
  store_->Bookmark(watcher_);
}

void WatchStream::Stop() {
  if (watcher_) watcher_->Stop();
}

}  // namespace kinema::sim
