#include "steps/rebalance/decision.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kube/object.h"
#include "engine/workflow/typed_result.h"
#include "steps/optimize/fit_check.h"

namespace kinema::rebalance {

using nlohmann::json;

const char* NodeClassName(NodeClass c) {
  switch (c) {
    case NodeClass::kOver: return "over-utilized";
    case NodeClass::kUnder: return "under-utilized";
    case NodeClass::kNormal: return "normal";
  }
  return "normal";
}

namespace {

StatusOr<NodeClass> ParseNodeClass(const std::string& s) {
  if (s == "over-utilized") return NodeClass::kOver;
  if (s == "under-utilized") return NodeClass::kUnder;
  if (s == "normal") return NodeClass::kNormal;
  return Status::InvalidArgument("unknown node class '" + s + "'");
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

// ------------------------------------------------------------ classification

double Classification::Spread() const {
  if (nodes.empty()) return 0;
  double lo = nodes[0].score, hi = nodes[0].score;
  for (const auto& n : nodes) {
    lo = std::min(lo, n.score);
    hi = std::max(hi, n.score);
  }
  return hi - lo;
}

Classification Classify(const std::vector<NodeScore>& scores, const ClassThresholds& t) {
  Classification c;
  c.absolute = t.absolute;
  if (scores.empty()) {
    c.no_action = "no node scores: the query returned nothing for the selected nodes";
    return c;
  }
  double sum = 0;
  for (const auto& s : scores) sum += s.score;
  c.average = sum / static_cast<double>(scores.size());
  c.over_bound = t.absolute ? t.high : c.average + t.high;
  c.under_bound = t.absolute ? t.low : c.average - t.low;
  std::vector<ClassifiedNode> over, under;
  for (const auto& s : scores) {
    ClassifiedNode n{s.node, s.score, NodeClass::kNormal};
    if (s.score > c.over_bound) {
      n.cls = NodeClass::kOver;
      over.push_back(n);
    } else if (s.score < c.under_bound) {
      n.cls = NodeClass::kUnder;
      under.push_back(n);
    }
    c.nodes.push_back(n);
  }
  std::sort(c.nodes.begin(), c.nodes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::stable_sort(over.begin(), over.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score > b.score : a.name < b.name;
  });
  std::stable_sort(under.begin(), under.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score < b.score : a.name < b.name;
  });
  for (const auto& n : over) c.over.push_back(n.name);
  for (const auto& n : under) c.under.push_back(n.name);
  const std::string how = t.absolute ? "" : " (average " + Fixed(c.average) + ")";
  if (c.over.empty()) {
    c.no_action = "no over-utilized node: every score is at most " + Fixed(c.over_bound) + how;
  } else if (c.under.empty()) {
    c.no_action = "no under-utilized node: every score is at least " + Fixed(c.under_bound) + how +
                  "; nowhere to move load to";
  }
  return c;
}

json Classification::ToJson() const {
  json nj = json::array();
  for (const auto& n : nodes) nj.push_back({{"node", n.name}, {"score", n.score}, {"class", NodeClassName(n.cls)}});
  json j = {{"average", average}, {"overBound", over_bound}, {"underBound", under_bound},
            {"mode", absolute ? "thresholds" : "deviation"}, {"spread", Spread()},
            {"nodes", nj}, {"over", over}, {"under", under}};
  if (!no_action.empty()) j["noAction"] = no_action;
  return j;
}

StatusOr<Classification> Classification::FromJson(const json& j) {
  return DecodeJson<Classification>("rebalance classification", [&]() -> StatusOr<Classification> {
    Classification c;
    c.average = j.at("average").get<double>();
    c.over_bound = j.at("overBound").get<double>();
    c.under_bound = j.at("underBound").get<double>();
    c.absolute = j.at("mode").get<std::string>() == "thresholds";
    for (const auto& n : j.at("nodes")) {
      auto cls = ParseNodeClass(n.at("class").get<std::string>());
      if (!cls.ok()) return cls.status();
      c.nodes.push_back({n.at("node").get<std::string>(), n.at("score").get<double>(), *cls});
    }
    c.over = j.at("over").get<std::vector<std::string>>();
    c.under = j.at("under").get<std::vector<std::string>>();
    c.no_action = j.value("noAction", "");
    return c;
  });
}

// ------------------------------------------------------------ pod choice

json PodChoice::ToJson() const {
  return {{"pod", pod}, {"workload", workload}, {"from", from}, {"to", to}, {"share", share},
          {"fromScoreAfter", from_score_after}, {"toScoreAfter", to_score_after}, {"evictOnly", evict_only}, {"uid", uid}, {"vm", vm}};
}

StatusOr<PodChoice> PodChoice::FromJson(const json& j) {
  return DecodeJson<PodChoice>("rebalance pod choice", [&]() -> StatusOr<PodChoice> {
    PodChoice c;
    c.pod = j.at("pod").get<std::string>();
    c.workload = j.at("workload").get<std::string>();
    c.from = j.at("from").get<std::string>();
    c.to = j.at("to").get<std::string>();
    c.share = j.at("share").get<double>();
    c.from_score_after = j.at("fromScoreAfter").get<double>();
    c.to_score_after = j.at("toScoreAfter").get<double>();
    c.evict_only = j.at("evictOnly").get<bool>();
    c.uid = j.value("uid", "");
    c.vm = j.value("vm", "");
    if (c.pod.find('/') == std::string::npos) return Status::InvalidArgument("rebalance pod choice: pod '" + c.pod + "' is not ns/name");
    return c;
  });
}

json ChoiceResult::ToJson() const {
  json cj = json::array(), sj = json::array(), pj = json::array();
  for (const auto& c : choices) cj.push_back(c.ToJson());
  for (const auto& s : skipped) sj.push_back({{"pod", s.pod}, {"node", s.node}, {"reason", s.reason}});
  for (const auto& p : ping_pong) {
    pj.push_back({{"workload", p.workload}, {"pod", p.pod}, {"node", p.node}, {"earlierFrom", p.earlier_from},
                  {"earlierWorkflow", p.earlier_workflow}, {"earlierAtMs", p.earlier_at_ms}, {"kind", p.kind}});
  }
  return {{"choices", cj}, {"skipped", sj}, {"pingPong", pj}, {"predicted", predicted}, {"notes", notes}};
}

StatusOr<ChoiceResult> ChoiceResult::FromJson(const json& j) {
  return DecodeJson<ChoiceResult>("rebalance choices", [&]() -> StatusOr<ChoiceResult> {
    ChoiceResult r;
    for (const auto& c : j.at("choices")) {
      auto pc = PodChoice::FromJson(c);
      if (!pc.ok()) return pc.status();
      r.choices.push_back(*pc);
    }
    for (const auto& s : j.at("skipped")) {
      r.skipped.push_back({s.at("pod").get<std::string>(), s.at("node").get<std::string>(), s.at("reason").get<std::string>()});
    }
    for (const auto& p : j.at("pingPong")) {
      r.ping_pong.push_back({p.at("workload").get<std::string>(), p.at("pod").get<std::string>(),
                             p.at("node").get<std::string>(), p.at("earlierFrom").get<std::string>(),
                             p.at("earlierWorkflow").get<std::string>(), p.at("earlierAtMs").get<int64_t>(),
                             p.at("kind").get<std::string>()});
    }
    r.predicted = j.at("predicted").get<std::map<std::string, double>>();
    r.notes = j.at("notes").get<std::vector<std::string>>();
    return r;
  });
}

namespace {

// Per-node load model (see decision.h).
struct NodeModel {
  int index = -1;
  double score = 0;
  double gain = 1;
  double cpu_alloc = 0;  // cores
  double mem_alloc = 0;  // bytes
};

double ShareOf(const PodUsage& u, const NodeModel& n) {
  double c = n.cpu_alloc > 0 ? u.cpu_cores / n.cpu_alloc : 0;
  double m = n.mem_alloc > 0 ? u.memory_bytes / n.mem_alloc : 0;
  return std::max(c, m);
}

bool WithinLimit(int64_t used, int64_t limit) { return limit < 0 || used < limit; }

class Chooser {
 public:
  explicit Chooser(const ChoiceInput& in) : in_(in), fitter_(*in.snapshot) {}

  ChoiceResult Run() {
    BuildModels();
    for (const auto& n : in_.classes.nodes) out_.predicted[n.name] = n.score;
    if (!in_.classes.no_action.empty()) return out_;
    for (const auto& hot : in_.classes.over) ChooseOn(hot);
    return out_;
  }

 private:
  void BuildModels() {
    const Snapshot& s = *in_.snapshot;
    std::map<std::string, double> score;
    for (const auto& n : in_.classes.nodes) score[n.name] = n.score;
    double sum_score = 0, sum_load = 0;
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const auto& sn = s.nodes[i];
      auto it = score.find(sn.name);
      if (it == score.end()) continue;  // not scored or not selected
      NodeModel m;
      m.index = static_cast<int>(i);
      m.score = it->second;
      m.cpu_alloc = sn.allocatable.cpu_milli / 1000.0;
      m.mem_alloc = static_cast<double>(sn.allocatable.memory_bytes);
      models_[sn.name] = m;
    }
    std::map<std::string, PodUsage> node_usage;
    for (const auto& p : s.pods) {
      auto u = in_.usage.find(p.FullName());
      if (u == in_.usage.end() || p.node_name.empty()) continue;
      node_usage[p.node_name].cpu_cores += u->second.cpu_cores;
      node_usage[p.node_name].memory_bytes += u->second.memory_bytes;
    }
    for (auto& [name, m] : models_) {
      double load = ShareOf(node_usage[name], m);
      load_[name] = load;
      sum_score += m.score;
      sum_load += load;
    }
    const double cluster_gain = sum_load > 1e-9 && sum_score > 1e-9 ? sum_score / sum_load : 1.0;
    for (auto& [name, m] : models_) {
      double load = load_[name];
      m.gain = (load > 0.05 && m.score > 0.01) ? m.score / load : cluster_gain;
    }
  }

  // The earlier eviction of `workload` within `window_ms`, newest first.
  std::vector<const EvictionRecord*> HistoryOf(const std::string& workload, int64_t window_ms) const {
    std::vector<const EvictionRecord*> out;
    for (const auto& r : in_.history) {
      if (r.workload == workload && r.at_ms >= in_.now_ms - window_ms) out.push_back(&r);
    }
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->at_ms > b->at_ms; });
    return out;
  }

  void Skip(const SnapshotPod& p, std::string why) { out_.skipped.push_back({p.FullName(), p.node_name, std::move(why)}); }

  // Is `p` a candidate at all (before looking at targets)? Records why not.
  bool Eligible(const SnapshotPod& p, const std::string& workload) {
    const std::string key = p.FullName();
    if (p.phase != "Running") return false;  // pending or finishing: not load on the node yet
    if (!p.movable) {
      Skip(p, p.immovable_reason.empty() ? "not movable" : p.immovable_reason);
      return false;
    }
    if (auto it = in_.cannot_move.find(key); it != in_.cannot_move.end()) {
      Skip(p, it->second);
      return false;
    }
    if (chosen_workloads_.count(workload)) {
      Skip(p, "workload " + workload + " already has a pod evicted in this cycle");
      return false;
    }
    auto recent = HistoryOf(workload, in_.cooldown_ms);
    if (!recent.empty()) {
      Skip(p, "cooldown: workload " + workload + " was evicted " + std::to_string((in_.now_ms - recent[0]->at_ms) / 1000) +
                  " s ago by " + recent[0]->workflow + " (cooldown " + std::to_string(in_.cooldown_ms / 1000) + " s)");
      return false;
    }
    for (const auto* r : HistoryOf(workload, in_.ping_pong_window_ms)) {
      auto created = in_.created_ms.find(key);
      if (r->from == p.node_name && created != in_.created_ms.end() && created->second > r->at_ms) {
        out_.ping_pong.push_back({workload, key, p.node_name, r->from, r->workflow, r->at_ms, "returned"});
        Skip(p, "ping-pong: workload " + workload + " was evicted from " + r->from + " by " + r->workflow +
                    " and is back; not evicted again within the ping-pong window");
        return false;
      }
    }
    auto u = in_.usage.find(key);
    if (u == in_.usage.end()) {
      Skip(p, "no measured usage (metrics.k8s.io has no sample for it)");
      return false;
    }
    if (u->second.cpu_cores <= 0 && u->second.memory_bytes <= 0) {
      Skip(p, "uses nothing measurable: moving it would not cool the node");
      return false;
    }
    return true;
  }

  struct Target {
    std::string node;
    double after = 0;
  };

  // The coldest under-utilized node that fits `p` and stays at most the
  // over bound; nodes `p`'s workload was evicted from within the ping-pong
  // window come last (and are a ping-pong when they are the only ones).
  bool FindTarget(const SnapshotPod& p, const std::string& workload, const PodUsage& u, Target* t, std::string* why,
                  const EvictionRecord** pong) {
    std::set<std::string> earlier;
    std::map<std::string, const EvictionRecord*> earlier_rec;
    for (const auto* r : HistoryOf(workload, in_.ping_pong_window_ms)) {
      earlier.insert(r->from);
      earlier_rec.emplace(r->from, r);
    }
    std::vector<std::string> order;
    for (const auto& n : in_.classes.under) {
      if (!earlier.count(n)) order.push_back(n);
    }
    for (const auto& n : in_.classes.under) {
      if (earlier.count(n)) order.push_back(n);
    }
    std::sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      bool ea = earlier.count(a), eb = earlier.count(b);
      if (ea != eb) return !ea;
      return out_.predicted[a] < out_.predicted[b];
    });
    std::string reasons;
    for (const auto& n : order) {
      const NodeModel& m = models_.at(n);
      std::string fit_why;
      if (!fitter_.Fits(p, m.index, &fit_why)) {
        reasons += (reasons.empty() ? "" : "; ") + n + ": " + fit_why;
        continue;
      }
      double after = out_.predicted[n] + ShareOf(u, m) * m.gain;
      if (after > in_.classes.over_bound) {
        reasons += (reasons.empty() ? "" : "; ") + n + ": would become over-utilized (predicted " + Fixed(after) + ")";
        continue;
      }
      if (earlier.count(n)) {
        *pong = earlier_rec.at(n);
        *why = "ping-pong: the only under-utilized node that takes it is " + n + ", which workload " + workload +
               " was evicted from by " + (*pong)->workflow;
        return false;
      }
      *t = {n, after};
      return true;
    }
    *why = reasons.empty() ? "no under-utilized node" : "no under-utilized node takes it (" + reasons + ")";
    return false;
  }

  struct Cand {
    const SnapshotPod* pod;
    std::string workload;
    double after;  // the hot node's predicted score without it
    double share;
  };

  // Why choosing on `hot` stops now ("" = go on): the limits, or early stop.
  std::string StopReason(const std::string& hot, int64_t on_node) {
    if (!WithinLimit(total_, in_.limits.total)) {
      return hot + ": stopped at the eviction limit of " + std::to_string(in_.limits.total) + " per cycle";
    }
    if (!WithinLimit(on_node, in_.limits.per_node)) {
      return hot + ": stopped at the limit of " + std::to_string(in_.limits.per_node) + " evictions per node";
    }
    const double now = out_.predicted[hot];
    if (now <= in_.classes.over_bound) {
      return hot + ": predicted score " + Fixed(now) + " is within the bound " + Fixed(in_.classes.over_bound) +
             " (early stop)";
    }
    return "";
  }

  // The eligible pods on `hot` not tried yet, the one that brings the node
  // closest to the average first.
  std::vector<Cand> RankCandidates(const std::string& hot, const NodeModel& hm, std::set<std::string>* tried) {
    const double now = out_.predicted[hot];
    std::vector<Cand> cands;
    for (const auto& p : in_.snapshot->pods) {
      if (p.node_name != hot || tried->count(p.FullName())) continue;
      std::string wl = Workload(p);
      if (!Eligible(p, wl)) {
        tried->insert(p.FullName());
        continue;
      }
      double share = ShareOf(in_.usage.at(p.FullName()), hm);
      cands.push_back({&p, wl, now - share * hm.gain, share});
    }
    const double avg = in_.classes.average;
    std::stable_sort(cands.begin(), cands.end(), [&](const Cand& a, const Cand& b) {
      double da = std::fabs(a.after - avg), db = std::fabs(b.after - avg);
      return da != db ? da < db : a.pod->FullName() < b.pod->FullName();
    });
    return cands;
  }

  // Can candidate `c` go (closer to the average, namespace limit, a target)?
  // Records why not; on success *t is its target.
  bool Acceptable(const std::string& hot, const Cand& c, Target* t) {
    const double now = out_.predicted[hot], avg = in_.classes.average;
    if (std::fabs(c.after - avg) >= std::fabs(now - avg)) {
      Skip(*c.pod, "moving it would not bring " + hot + " closer to the average (predicted " + Fixed(c.after) + " vs " +
                       Fixed(now) + ", average " + Fixed(avg) + ")");
      return false;
    }
    const std::string& ns = c.pod->namespace_;
    if (!WithinLimit(per_ns_[ns], in_.limits.per_namespace)) {
      Skip(*c.pod, "eviction limit of " + std::to_string(in_.limits.per_namespace) + " per namespace reached in " + ns);
      return false;
    }
    std::string why;
    const EvictionRecord* pong = nullptr;
    if (!FindTarget(*c.pod, c.workload, in_.usage.at(c.pod->FullName()), t, &why, &pong)) {
      if (pong) out_.ping_pong.push_back({c.workload, c.pod->FullName(), hot, pong->from, pong->workflow, pong->at_ms, "back"});
      Skip(*c.pod, why);
      return false;
    }
    return true;
  }

  // Promises `c` its target and records the choice.
  void Choose(const std::string& hot, const NodeModel& hm, const Cand& c, const Target& t) {
    fitter_.Place(*c.pod, models_.at(t.node).index);
    fitter_.Remove(*c.pod, hm.index);
    out_.predicted[hot] = c.after;
    out_.predicted[t.node] = t.after;
    PodChoice pc;
    pc.pod = c.pod->FullName();
    pc.workload = c.workload;
    pc.from = hot;
    pc.to = t.node;
    pc.share = c.share;
    pc.from_score_after = c.after;
    pc.to_score_after = t.after;
    pc.evict_only = in_.evict_only.count(pc.pod) > 0;
    out_.choices.push_back(pc);
    chosen_workloads_.insert(c.workload);
    ++per_ns_[c.pod->namespace_];
    ++total_;
  }

  void ChooseOn(const std::string& hot) {
    auto mit = models_.find(hot);
    if (mit == models_.end()) return;
    const NodeModel& hm = mit->second;
    int64_t on_node = 0;
    std::set<std::string> tried;
    while (true) {
      if (std::string stop = StopReason(hot, on_node); !stop.empty()) {
        out_.notes.push_back(stop);
        return;
      }
      bool picked = false;
      for (const auto& c : RankCandidates(hot, hm, &tried)) {
        tried.insert(c.pod->FullName());
        Target t;
        if (!Acceptable(hot, c, &t)) continue;
        Choose(hot, hm, c, t);
        ++on_node;
        picked = true;
        break;
      }
      if (!picked) {
        out_.notes.push_back(hot + ": no more pods to choose (predicted score " + Fixed(out_.predicted[hot]) + ")");
        return;
      }
    }
  }

  std::string Workload(const SnapshotPod& p) const {
    auto it = in_.workload.find(p.FullName());
    return it != in_.workload.end() ? it->second : p.namespace_ + "/Pod/" + p.name;
  }

  const ChoiceInput& in_;
  NodeFitter fitter_;
  ChoiceResult out_;
  std::map<std::string, NodeModel> models_;
  std::map<std::string, double> load_;
  std::set<std::string> chosen_workloads_;
  std::map<std::string, int64_t> per_ns_;
  int64_t total_ = 0;
};

}  // namespace

ChoiceResult ChoosePods(const ChoiceInput& input) { return Chooser(input).Run(); }

// ------------------------------------------------------------ workloads

std::string WorkloadOf(const json& pod, const std::map<std::string, std::string>& rs_owner) {
  const std::string ns = kube::obj::Namespace(pod);
  const std::string kind = kube::obj::ControllerKind(pod);
  const std::string name = kube::obj::ControllerName(pod);
  if (kind.empty()) return ns + "/Pod/" + kube::obj::Name(pod);
  if (kind == "ReplicaSet") {
    auto it = rs_owner.find(ns + "/" + name);
    if (it != rs_owner.end()) return ns + "/Deployment/" + it->second;
  }
  return ns + "/" + kind + "/" + name;
}

std::string RolloutGuaranteeReason(const json& w) {
  const std::string kind = w.value("kind", "");
  const int64_t replicas = kube::obj::IntAt(w, "spec.replicas");
  int64_t max_unavailable = 0, ready = 0;
  if (kind == "Deployment") {
    if (kube::obj::StringAt(w, "spec.strategy.type") == "Recreate") return "";
    json ru = w.contains("spec") && w["spec"].contains("strategy") && w["spec"]["strategy"].contains("rollingUpdate")
                  ? w["spec"]["strategy"]["rollingUpdate"]
                  : json::object();
    max_unavailable = kube::intstr::Scaled(ru.value("maxUnavailable", json("25%")), replicas, false, 0);
    int64_t surge = kube::intstr::Scaled(ru.value("maxSurge", json("25%")), replicas, true, 0);
    if (max_unavailable == 0 && surge == 0) max_unavailable = 1;
    ready = kube::obj::IntAt(w, "status.availableReplicas");
  } else if (kind == "StatefulSet") {
    json mu = json(1);
    if (w.contains("spec") && w["spec"].contains("updateStrategy") && w["spec"]["updateStrategy"].contains("rollingUpdate")) {
      mu = w["spec"]["updateStrategy"]["rollingUpdate"].value("maxUnavailable", json(1));
    }
    max_unavailable = kube::intstr::Scaled(mu, replicas, false, 1);
    ready = kube::obj::IntAt(w, "status.readyReplicas");
  } else {
    return "";
  }
  if (ready - 1 >= replicas - max_unavailable) return "";
  return kind + " " + kube::obj::Namespace(w) + "/" + kube::obj::Name(w) + ": " + std::to_string(ready) + " of " +
         std::to_string(replicas) + " available, maxUnavailable " + std::to_string(max_unavailable) +
         ": one more eviction would break its rollout guarantee";
}

}  // namespace kinema::rebalance
