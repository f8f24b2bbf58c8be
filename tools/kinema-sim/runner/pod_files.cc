#include "tools/kinema-sim/runner/pod_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

namespace kinema::sim::runner {

namespace fs = std::filesystem;

namespace {

bool PathChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' || c == '-'; }

Status WriteFile(const fs::path& p, const std::string& content, int mode) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Status::IOError("write " + p.string());
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
  return Status::OK();
}

}  // namespace

PodFiles::PodFiles(std::string state_dir, const std::string& ns, const std::string& pod, const std::string& uid)
    : state_dir_(std::move(state_dir)) {
  // Short on purpose: unix socket paths under a mount (a journal's admin
  // socket) must stay below 108 bytes.
  (void)ns;
  dir_ = (fs::path(state_dir_) / "pods" / (pod + "-" + uid.substr(0, 8))).string();
  root_ = dir_ + "/root";
  std::error_code ec;
  fs::create_directories(root_, ec);
  fs::create_directories(dir_ + "/logs", ec);
}

std::string PodFiles::LogPath(const std::string& container, bool previous) const {
  return dir_ + "/logs/" + container + (previous ? ".previous.log" : ".log");
}

StatusOr<std::string> PodFiles::WriteProjected(const std::string& volume, const std::map<std::string, std::string>& data,
                                               const nlohmann::json& items, int default_mode) {
  static std::atomic<uint64_t> seq{0};
  fs::path vdir = fs::path(dir_) / "volumes" / volume;
  std::error_code ec;
  fs::create_directories(vdir, ec);
  // Which file gets which key (items select and rename; otherwise all keys).
  std::vector<std::tuple<std::string, std::string, int>> files;  // path, content, mode
  if (items.is_array() && !items.empty()) {
    for (const auto& it : items) {
      std::string key = it.value("key", ""), path = it.value("path", key);
      auto d = data.find(key);
      if (d == data.end()) return Status::NotFound("key \"" + key + "\" not found in volume " + volume + "'s source");
      if (path.empty() || path[0] == '/' || path.find("..") != std::string::npos) {
        return Status::InvalidArgument("volume " + volume + ": item path \"" + path + "\" must be relative");
      }
      files.emplace_back(path, d->second, static_cast<int>(it.value("mode", default_mode)));
    }
  } else {
    for (const auto& [k, v] : data) files.emplace_back(k, v, default_mode);
  }
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string stamp = "..kinema_" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()) +
                      "_" + std::to_string(seq++);
  for (const auto& [path, content, mode] : files) {
    KINEMA_RETURN_IF_ERROR(WriteFile(vdir / stamp / path, MapText(content), mode));
  }
  fs::path data_link = vdir / "..data";
  std::string old_target;
  if (fs::is_symlink(data_link)) old_target = fs::read_symlink(data_link).string();
  fs::path tmp = vdir / "..data_tmp";
  fs::remove(tmp, ec);
  fs::create_symlink(stamp, tmp, ec);
  if (ec) return Status::IOError("symlink " + tmp.string() + ": " + ec.message());
  fs::rename(tmp, data_link, ec);
  if (ec) return Status::IOError("rename " + tmp.string() + ": " + ec.message());
  // Top-level entries: one symlink per first path component.
  std::set<std::string> tops;
  for (const auto& f : files) tops.insert(fs::path(std::get<0>(f)).begin()->string());
  for (const auto& top : tops) {
    fs::path link = vdir / top;
    if (!fs::is_symlink(link)) fs::create_symlink(fs::path("..data") / top, link, ec);
  }
  for (const auto& entry : fs::directory_iterator(vdir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("..", 0) == 0) continue;
    if (!tops.count(name)) fs::remove(entry.path(), ec);  // a key that went away
  }
  if (!old_target.empty() && old_target != stamp) fs::remove_all(vdir / old_target, ec);
  return vdir.string();
}

StatusOr<std::string> PodFiles::EmptyDir(const std::string& volume) {
  fs::path vdir = fs::path(dir_) / "volumes" / volume;
  std::error_code ec;
  fs::create_directories(vdir, ec);
  if (ec) return Status::IOError("create " + vdir.string() + ": " + ec.message());
  return vdir.string();
}

Status PodFiles::AddMount(const Mount& m) {
  if (m.path.empty() || m.path[0] != '/') return Status::InvalidArgument("mountPath \"" + m.path + "\" must be absolute");
  fs::path link = fs::path(root_ + m.path).lexically_normal();
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (fs::is_symlink(link)) fs::remove(link, ec);
  fs::create_symlink(m.host_dir, link, ec);
  if (ec) return Status::IOError("mount " + m.path + " at " + link.string() + ": " + ec.message());
  std::string path = m.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  mounts_.push_back({path, m.host_dir});
  std::sort(mounts_.begin(), mounts_.end(), [](const Mount& a, const Mount& b) { return a.path.size() > b.path.size(); });
  return Status::OK();
}

std::string PodFiles::MapText(const std::string& text) const {
  if (mounts_.empty()) return text;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool boundary_before = i == 0 || !PathChar(text[i - 1]);
    const Mount* hit = nullptr;
    if (text[i] == '/' && boundary_before) {
      for (const auto& m : mounts_) {
        if (text.compare(i, m.path.size(), m.path) != 0) continue;
        size_t end = i + m.path.size();
        if (end == text.size() || text[end] == '/' || !PathChar(text[end])) {
          hit = &m;
          break;
        }
      }
    }
    if (hit) {
      out += root_;
      out += hit->path;
      i += hit->path.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

void PodFiles::RemoveVolumes() {
  std::error_code ec;
  fs::remove_all(fs::path(dir_) / "volumes", ec);
  fs::remove_all(root_, ec);
}

}  // namespace kinema::sim::runner
