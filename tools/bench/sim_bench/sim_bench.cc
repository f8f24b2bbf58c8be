// sim_bench: kinema-sim at scale. Generates a 1,000-node / 30,000-pod
// snapshot, starts the real kinema-sim on it and prints:
//   startup time, RSS after load, full pod list latency (target < 2 s),
//   paginated list (limit=500) latency, GET latency while 200 watches are
//   open and 500 writes are fanned out to them, events delivered, final RSS
//   (target < 1 GB).
// Numbers only; not a test. Usage:
//   sim_bench [--nodes N] [--pods-per-node M] [--watches W] [--sim PATH]
#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Http {
  long code = 0;
  std::string body;
};

Http Request(const std::string& method, const std::string& url, const std::string& body = "",
             const std::string& content_type = "") {
  Http h;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &h.body);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  struct curl_slist* headers = nullptr;
  if (!body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h.code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return h;
}

long RssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

void WriteSnapshot(const std::string& path, int nodes, int pods_per_node) {
  std::ofstream out(path);
  out << R"({"apiVersion":"v1","kind":"List","items":[)";
  bool first = true;
  auto emit = [&](const json& j) {
    if (!first) out << ',';
    first = false;
    out << j.dump();
  };
  const char* types[] = {"e2-standard-4", "e2-standard-8", "n2-standard-8"};
  for (int n = 0; n < nodes; ++n) {
    std::string name = "node-" + std::to_string(n);
    std::string zone = std::string("us-central1-") + "abc"[n % 3];
    emit({{"apiVersion", "v1"}, {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name},
                                                     {"node.kubernetes.io/instance-type", types[n % 3]},
                                                     {"topology.kubernetes.io/zone", zone}}}}},
          {"spec", {{"providerID", "gce://bench/" + zone + "/" + name}}},
          {"status", {{"allocatable", {{"cpu", "7910m"}, {"memory", "28Gi"}, {"pods", "110"}}},
                      {"capacity", {{"cpu", "8"}, {"memory", "32Gi"}, {"pods", "110"}}},
                      {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}});
  }
  int apps = 300;
  for (int a = 0; a < apps; ++a) {
    std::string ns = "team-" + std::to_string(a % 20);
    std::string app = "app-" + std::to_string(a);
    json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}};
    d["metadata"] = {{"name", app}, {"namespace", ns}, {"uid", "uid-" + app}};
    d["spec"]["replicas"] = nodes * pods_per_node / apps;
    d["spec"]["selector"]["matchLabels"]["app"] = app;
    d["spec"]["template"]["metadata"]["labels"]["app"] = app;
    d["spec"]["template"]["spec"]["containers"] = json::array({{{"name", "main"}, {"image", "registry/app:1"}}});
    emit(d);
  }
  int total = nodes * pods_per_node;
  for (int p = 0; p < total; ++p) {
    int a = p % apps;
    std::string ns = "team-" + std::to_string(a % 20);
    std::string app = "app-" + std::to_string(a);
    std::string name = app + "-" + std::to_string(p);
    emit({{"apiVersion", "v1"}, {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns},
                        {"labels", {{"app", app}, {"pod-template-hash", "abc123"}, {"tier", p % 2 ? "web" : "worker"}}},
                        {"ownerReferences", {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", app + "-abc123"},
                                              {"uid", "rs-" + app}, {"controller", true}}}}}},
          {"spec", {{"nodeName", "node-" + std::to_string(p % nodes)},
                    {"containers", {{{"name", "main"}, {"image", "registry/app:1"},
                                     {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "256Mi"}}},
                                                    {"limits", {{"cpu", "500m"}, {"memory", "512Mi"}}}}},
                                     {"env", {{{"name", "MODE"}, {"value", "prod"}}}},
                                     {"ports", {{{"containerPort", 8080}, {"protocol", "TCP"}}}}}}},
                    {"tolerations", {{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                                      {"effect", "NoExecute"}, {"tolerationSeconds", 300}}}}}},
          {"status", {{"phase", "Running"}, {"podIP", "10.1." + std::to_string(p / 250) + "." + std::to_string(p % 250)},
                      {"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
                      {"containerStatuses", {{{"name", "main"}, {"ready", true}, {"restartCount", 0},
                                              {"image", "registry/app:1"}, {"imageID", "sha256:abc"}}}}}}});
  }
  out << "]}";
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 1000, pods_per_node = 30, watches = 200;
  std::filesystem::path self = std::filesystem::canonical("/proc/self/exe");
  std::string sim = (self.parent_path() / "kinema-sim").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--nodes") nodes = std::atoi(argv[i + 1]);
    else if (a == "--pods-per-node") pods_per_node = std::atoi(argv[i + 1]);
    else if (a == "--watches") watches = std::atoi(argv[i + 1]);
    else if (a == "--sim") sim = argv[i + 1];
    else {
      std::fprintf(stderr, "sim_bench: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_ALL);
  char tmpl[] = "/tmp/kinema-sim-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string snapshot = dir + "/snapshot.json", kubeconfig = dir + "/kubeconfig";
  std::string catalog = dir + "/catalog.json";
  std::ofstream(catalog) << R"({"machineTypes":[
    {"name":"e2-standard-4","pricePerHour":{"onDemand":0.134023}},
    {"name":"e2-standard-8","pricePerHour":{"onDemand":0.268046}},
    {"name":"n2-standard-8","pricePerHour":{"onDemand":0.388472}}]})";
  auto t0 = Clock::now();
  WriteSnapshot(snapshot, nodes, pods_per_node);
  std::printf("snapshot: %d nodes, %d pods, %.1f MiB, generated in %.0f ms\n", nodes, nodes * pods_per_node,
              std::filesystem::file_size(snapshot) / 1048576.0, Ms(Clock::now() - t0));

  t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl(sim.c_str(), sim.c_str(), "--snapshot", snapshot.c_str(), "--catalog", catalog.c_str(), "--listen",
          "127.0.0.1:0", "--write-kubeconfig", kubeconfig.c_str(), "--log-level", "warn", nullptr);
    _exit(127);
  }
  while (!std::filesystem::exists(kubeconfig)) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      std::fprintf(stderr, "sim_bench: kinema-sim (%s) exited early\n", sim.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream kc(kubeconfig);
  std::string kctext((std::istreambuf_iterator<char>(kc)), {});
  size_t s = kctext.find("http://");
  std::string base = kctext.substr(s, kctext.find('"', s) - s);
  std::printf("startup (load + listen): %.0f ms\n", Ms(Clock::now() - t0));
  std::printf("rss after load: %ld MiB\n", RssMiB(pid));

  std::vector<double> full;
  size_t bytes = 0, items = 0;
  for (int i = 0; i < 3; ++i) {
    auto t = Clock::now();
    Http h = Request("GET", base + "/api/v1/pods");
    full.push_back(Ms(Clock::now() - t));
    bytes = h.body.size();
    if (i == 0) items = json::parse(h.body)["items"].size();
  }
  std::sort(full.begin(), full.end());
  std::printf("list all pods: %zu items, %.1f MiB, best %.0f ms, median %.0f ms (target < 2000 ms)\n", items,
              bytes / 1048576.0, full[0], full[1]);

  auto t = Clock::now();
  std::string cont;
  size_t paged = 0;
  int pages = 0;
  do {
    Http h = Request("GET", base + "/api/v1/pods?limit=500" + (cont.empty() ? "" : "&continue=" + cont));
    json j = json::parse(h.body);
    paged += j["items"].size();
    pages++;
    cont = j["metadata"].value("continue", "");
  } while (!cont.empty());
  std::printf("paginated list (limit=500): %zu items in %d pages, %.0f ms\n", paged, pages, Ms(Clock::now() - t));

  t = Clock::now();
  Http sel = Request("GET", base + "/api/v1/pods?labelSelector=app%3Dapp-7&fieldSelector=spec.nodeName%3Dnode-7");
  std::printf("selector list (label+field): %zu items, %.1f ms\n", json::parse(sel.body)["items"].size(),
              Ms(Clock::now() - t));

  // Watch fan-out: `watches` concurrent pod watches, then writes.
  std::atomic<long> events{0};
  std::atomic<bool> stop{false};
  std::string rv = json::parse(Request("GET", base + "/api/v1/namespaces/team-0/pods?limit=1").body)["metadata"]["resourceVersion"];
  std::vector<std::thread> watchers;
  for (int w = 0; w < watches; ++w) {
    watchers.emplace_back([&, w] {
      std::string url = base + "/api/v1/pods?watch=1&timeoutSeconds=15&resourceVersion=" + rv;
      (void)w;
      CURL* c = curl_easy_init();
      curl_easy_setopt(c, CURLOPT_URL, url.c_str());
      curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t sz, size_t n, void* u) -> size_t {
        auto* ev = static_cast<std::atomic<long>*>(u);
        for (size_t i = 0; i < sz * n; ++i) {
          if (d[i] == '\n') (*ev)++;
        }
        return sz * n;
      });
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &events);
      curl_easy_perform(c);
      curl_easy_cleanup(c);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int writes = 500;
  std::vector<double> get_lat;
  t = Clock::now();
  for (int i = 0; i < writes; ++i) {
    int p = i * 37 % (nodes * pods_per_node);
    int a = p % 300;
    std::string url = base + "/api/v1/namespaces/team-" + std::to_string(a % 20) + "/pods/app-" + std::to_string(a) +
                      "-" + std::to_string(p);
    Request("PATCH", url, R"({"metadata":{"labels":{"bench":")" + std::to_string(i) + R"("}}})",
            "application/merge-patch+json");
    if (i % 10 == 0) {
      auto g = Clock::now();
      Request("GET", base + "/api/v1/nodes/node-1");
      get_lat.push_back(Ms(Clock::now() - g));
    }
  }
  double write_ms = Ms(Clock::now() - t);
  long expected = static_cast<long>(writes) * watches;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (events.load() < expected && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  double fanout_ms = Ms(Clock::now() - t);
  std::sort(get_lat.begin(), get_lat.end());
  std::printf("writes: %d merge patches in %.0f ms (%.0f/s) with %d open watches\n", writes, write_ms,
              writes * 1000.0 / write_ms, watches);
  std::printf("watch fan-out: %ld / %ld events delivered, all within %.0f ms of the first write\n", events.load(),
              expected, fanout_ms);
  std::printf("GET latency during fan-out: p50 %.1f ms, max %.1f ms\n", get_lat[get_lat.size() / 2], get_lat.back());
  std::printf("rss at end: %ld MiB (target < 1024 MiB)\n", RssMiB(pid));
  kill(pid, SIGTERM);
  for (auto& th : watchers) th.join();
  int st;
  waitpid(pid, &st, 0);
  std::filesystem::remove_all(dir);
  (void)stop;
  return 0;
}
