#include "engine/kube/admission_policy.h"

#include <algorithm>
#include <map>
#include <set>

namespace kinema::kube {

namespace {

// Fields compared under ObjectMeta (the others are immutable or written by
// the API server itself: name, uid, resourceVersion, generation, ...).
const std::vector<std::string> kObjectMeta = {"labels", "annotations", "ownerReferences", "finalizers"};
const std::vector<std::string> kTemplateMeta = {"labels", "annotations", "name", "generateName",
                                                "namespace", "finalizers", "ownerReferences"};
// core/v1 PodSpec as of Kubernetes 1.30, the first release with
// admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (a field the
// cluster's schema lacks would fail the policy's type check).
const std::vector<std::string> kPodSpec = {
    "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName",
    "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC",
    "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity",
    "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates",
    "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints",
    "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims"};

struct KindSchema {
  std::string kind;  // for messages
  std::map<std::string, std::vector<std::string>> children;  // "" is the root
};

// The kinds a declaration may name mutable fields of.
const KindSchema* SchemaFor(const std::string& group, const std::string& resource) {
  static const KindSchema kDeployment{
      "Deployment",
      {{"", {"metadata", "spec"}},
       {"metadata", kObjectMeta},
       {"spec", {"replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit", "paused",
                 "progressDeadlineSeconds"}},
       {"spec.template", {"metadata", "spec"}},
       {"spec.template.metadata", kTemplateMeta},
       {"spec.template.spec", kPodSpec}}};
  static const KindSchema kNode{
      "Node",
      {{"", {"metadata", "spec"}},
       {"metadata", kObjectMeta},
       {"spec", {"podCIDR", "podCIDRs", "providerID", "unschedulable", "taints", "configSource", "externalID"}}}};
  static const KindSchema kPod{"Pod", {{"", {"metadata", "spec"}}, {"metadata", kObjectMeta}, {"spec", kPodSpec}}};
  if (group == "apps" && resource == "deployments") return &kDeployment;
  if (group.empty() && resource == "nodes") return &kNode;
  if (group.empty() && (resource == "pods" || resource.rfind("pods/", 0) == 0)) return &kPod;
  return nullptr;
}

// "metadata.labels[kinema.io/]" -> ("metadata.labels", "kinema.io/").
std::pair<std::string, std::string> SplitPrefix(const std::string& f) {
  size_t b = f.find('[');
  if (b == std::string::npos || f.back() != ']') return {f, ""};
  return {f.substr(0, b), f.substr(b + 1, f.size() - b - 2)};
}

std::string Join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

// has(o.a) && has(o.a.b) && ... for every hop of `path` (parenthesised
// when there is more than one): CEL's has() needs its parents present.
std::string Present(const std::string& o, const std::string& path) {
  std::vector<std::string> hops;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
    hops.push_back("has(" + o + "." + path.substr(0, dot) + ")");
  }
  hops.push_back("has(" + o + "." + path + ")");
  if (hops.size() == 1) return hops[0];
  std::string out;
  for (const auto& h : hops) out += (out.empty() ? "" : " && ") + h;
  return "(" + out + ")";
}

std::string Unchanged(const std::string& path) {
  const std::string po = Present("object", path), pold = Present("oldObject", path);
  return po + " == " + pold + " && (!" + po + " || object." + path + " == oldObject." + path + ")";
}

std::string PrefixOnly(const std::string& path, const std::string& prefix) {
  const std::string po = Present("object", path), pold = Present("oldObject", path);
  const std::string o = "object." + path, old = "oldObject." + path;
  return "(!" + po + " || " + o + ".all(k, k.startsWith('" + prefix + "') || (" + pold + " && k in " + old +
         " && " + old + "[k] == " + o + "[k]))) && (!" + pold + " || " + old + ".all(k, k.startsWith('" + prefix +
         "') || (" + po + " && k in " + o + ")))";
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

struct Validation {
  std::string expression, message;
};

Status Walk(const KindSchema& schema, const std::string& path, const std::set<std::string>& whole,
            const std::map<std::string, std::string>& prefixed, const std::string& what, std::vector<Validation>* out) {
  auto it = schema.children.find(path);
  if (it == schema.children.end()) {
    return Status::InvalidArgument("admission policy: no schema for " + schema.kind + " field " + path);
  }
  for (const std::string& child : it->second) {
    const std::string p = Join(path, child);
    if (whole.count(p)) continue;
    if (auto pf = prefixed.find(p); pf != prefixed.end()) {
      out->push_back({PrefixOnly(p, pf->second), what + " may change only " + pf->second + " keys of " + p});
      continue;
    }
    bool below = false;
    for (const auto& w : whole) below = below || w.rfind(p + ".", 0) == 0;
    for (const auto& [f, pre] : prefixed) below = below || f.rfind(p + ".", 0) == 0;
    if (below) {
      KINEMA_RETURN_IF_ERROR(Walk(schema, p, whole, prefixed, what, out));
    } else {
      out->push_back({Unchanged(p), what + " may not change " + p});
    }
  }
  return Status::OK();
}

std::string PolicyName(const AdmissionPolicyOptions& o, const Permission& p) {
  std::string r = p.resource;
  std::replace(r.begin(), r.end(), '/', '-');
  return o.name_prefix + "-" + r + (p.api_group.empty() ? "" : "." + p.api_group);
}

}  // namespace

StatusOr<std::string> RenderAdmissionPolicy(const std::vector<Permission>& declared,
                                            const AdmissionPolicyOptions& options) {
  const std::string user =
      "system:serviceaccount:" + options.service_account_namespace + ":" + options.service_account;
  std::string out =
      "# Generated by kinema-admission-policy from the permission declarations\n"
      "# (engine/kube/permissions.h, mutable_fields); tests/deploy checks this file\n"
      "# equals the generator's output. Do not edit: change the declarations and run\n"
      "#   build/bin/kinema-admission-policy > deploy/admission-policy.yaml\n"
      "# Each policy lets " + options.service_account_namespace + "/" + options.service_account +
      " change only the declared fields of a kind\n"
      "# (RBAC lets it write the kind; this limits what a write may change).\n";
  for (const Permission& p : declared) {
    const bool writes = std::count(p.verbs.begin(), p.verbs.end(), "update") ||
                        std::count(p.verbs.begin(), p.verbs.end(), "patch");
    if (!writes || p.scope == PermissionScope::kLeaseNamespace) continue;
    const KindSchema* schema = SchemaFor(p.api_group, p.resource);
    if (schema == nullptr) {
      return Status::InvalidArgument("admission policy: " + p.resource + (p.api_group.empty() ? "" : "." + p.api_group) +
                                     " is written but has no field schema in engine/kube/admission_policy.cc");
    }
    std::set<std::string> whole;
    std::map<std::string, std::string> prefixed;
    for (const std::string& f : p.mutable_fields) {
      auto [path, prefix] = SplitPrefix(f);
      if (prefix.empty()) whole.insert(path);
      else prefixed[path] = prefix;
    }
    const std::string what = options.service_account_namespace + "/" + options.service_account + " (" +
                             p.resource + (p.api_group.empty() ? "" : "." + p.api_group) + ")";
    std::vector<Validation> validations;
    KINEMA_RETURN_IF_ERROR(Walk(*schema, "", whole, prefixed, what, &validations));
    const std::string name = PolicyName(options, p);
    std::string mutable_list;
    for (const auto& f : p.mutable_fields) mutable_list += (mutable_list.empty() ? "" : ", ") + f;
    out += "---\n";
    out += "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n";
    out += "  name: " + name + "\n";
    out += "  annotations:\n    kinema.io/mutable-fields: " + Quote(mutable_list) + "\n";
    out += "spec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n";
    out += "      - apiGroups: [" + Quote(p.api_group) + "]\n        apiVersions: [\"*\"]\n";
    out += "        resources: [" + Quote(p.resource) + "]\n        operations: [\"UPDATE\"]\n";
    out += "  matchConditions:\n    - name: is-" + options.service_account + "\n";
    out += "      expression: " + Quote("request.userInfo.username == '" + user + "'") + "\n";
    out += "  validations:\n";
    for (const auto& v : validations) {
      out += "    - expression: " + Quote(v.expression) + "\n";
      out += "      message: " + Quote(v.message) + "\n";
    }
    out += "---\n";
    out += "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n";
    out += "  name: " + name + "\nspec:\n  policyName: " + name + "\n  validationActions: [\"Deny\"]\n";
  }
  return out;
}

}  // namespace kinema::kube
