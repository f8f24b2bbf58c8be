#include "tools/kinema-sim/rbac/authorizer.h"

#include <algorithm>

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim::rbac {

namespace {

using Json = nlohmann::json;

const ResourceType& RbacType(const char* plural) {
  return *ResourceRegistry::Default().Find("rbac.authorization.k8s.io", "v1", plural);
}

bool Contains(const Json& list, const std::string& v) {
  if (!list.is_array()) return false;
  for (const auto& x : list) {
    if (x.is_string() && x.get<std::string>() == v) return true;
  }
  return false;
}

bool VerbMatches(const Json& rule, const std::string& verb) {
  return Contains(rule.value("verbs", Json::array()), "*") || Contains(rule.value("verbs", Json::array()), verb);
}

bool ResourceMatches(const Json& rule, const std::string& combined, const std::string& sub) {
  for (const auto& r : rule.value("resources", Json::array())) {
    if (!r.is_string()) continue;
    std::string rr = r.get<std::string>();
    if (rr == "*" || rr == combined) return true;
    if (!sub.empty() && rr.size() == sub.size() + 2 && rr.compare(0, 2, "*/") == 0 && rr.compare(2, sub.size(), sub) == 0) {
      return true;
    }
  }
  return false;
}

bool NonResourceUrlMatches(const Json& rule, const std::string& path) {
  for (const auto& u : rule.value("nonResourceURLs", Json::array())) {
    if (!u.is_string()) continue;
    std::string url = u.get<std::string>();
    if (url == "*" || url == path) return true;
    if (!url.empty() && url.back() == '*' && path.compare(0, url.size() - 1, url, 0, url.size() - 1) == 0) return true;
  }
  return false;
}

bool RuleAllows(const Json& rule, const RequestAttributes& a) {
  if (!rule.is_object() || !VerbMatches(rule, a.verb)) return false;
  if (!a.resource_request) return NonResourceUrlMatches(rule, a.path);
  const Json groups = rule.value("apiGroups", Json::array());
  if (!Contains(groups, "*") && !Contains(groups, a.api_group)) return false;
  std::string combined = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  if (!ResourceMatches(rule, combined, a.subresource)) return false;
  const Json names = rule.value("resourceNames", Json::array());
  return !names.is_array() || names.empty() || Contains(names, a.name);
}

// rbac's appliesTo: does a binding's subject name this user?
bool SubjectMatches(const Json& s, const UserInfo& u, const std::string& binding_ns) {
  if (!s.is_object()) return false;
  std::string kind = s.value("kind", ""), name = s.value("name", "");
  if (kind == "User") return name == u.name;
  if (kind == "Group") return std::find(u.groups.begin(), u.groups.end(), name) != u.groups.end();
  if (kind == "ServiceAccount") {
    std::string ns = s.value("namespace", "");
    if (ns.empty()) ns = binding_ns;
    return !ns.empty() && u.name == "system:serviceaccount:" + ns + ":" + name;
  }
  return false;
}

bool BindingApplies(const ObjectPtr& b, const UserInfo& u) {
  for (const auto& s : b->body.value("subjects", Json::array())) {
    if (SubjectMatches(s, u, b->ns)) return true;
  }
  return false;
}

}  // namespace

Decision Authorizer::Authorize(const UserInfo& user, const RequestAttributes& attrs) const {
  if (user.superuser) return {true, ""};
  std::vector<std::string> missing;
  auto rules_of = [&](const Json& ref, const std::string& binding_ns) -> Json {
    std::string kind = ref.value("kind", ""), name = ref.value("name", "");
    ObjectPtr role = kind == "ClusterRole" ? store_->Get(RbacType("clusterroles"), "", name)
                                           : store_->Get(RbacType("roles"), binding_ns, name);
    if (!role) {
      missing.push_back(kind == "ClusterRole" ? "clusterrole.rbac.authorization.k8s.io \"" + name + "\" not found"
                                              : "role.rbac.authorization.k8s.io \"" + name + "\" not found");
      return Json::array();
    }
    return role->body.value("rules", Json::array());
  };
  auto any_rule = [&](const Json& rules) {
    if (!rules.is_array()) return false;
    for (const auto& r : rules) {
      if (RuleAllows(r, attrs)) return true;
    }
    return false;
  };
  WatchFilter crb;
  crb.resource = &RbacType("clusterrolebindings");
  for (const ObjectPtr& b : store_->List(crb).items) {
    if (!BindingApplies(b, user)) continue;
    const Json ref = b->body.value("roleRef", Json::object());
    if (ref.value("kind", "") != "ClusterRole") continue;
    if (any_rule(rules_of(ref, ""))) return {true, ""};
  }
  if (attrs.resource_request && !attrs.ns.empty()) {
    WatchFilter rb;
    rb.resource = &RbacType("rolebindings");
    rb.ns = attrs.ns;
    for (const ObjectPtr& b : store_->List(rb).items) {
      if (!BindingApplies(b, user)) continue;
      if (any_rule(rules_of(b->body.value("roleRef", Json::object()), b->ns))) return {true, ""};
    }
  }
  Decision d;
  if (!missing.empty()) {
    d.reason = "RBAC: ";
    if (missing.size() > 1) d.reason += "[";
    for (size_t i = 0; i < missing.size(); ++i) d.reason += (i ? ", " : "") + missing[i];
    if (missing.size() > 1) d.reason += "]";
  }
  return d;
}

ApiError Authorizer::Forbidden(const UserInfo& user, const RequestAttributes& a, const std::string& reason) {
  std::string msg;
  if (!a.resource_request) {
    msg = "User \"" + user.name + "\" cannot " + a.verb + " path \"" + a.path + "\"";
  } else {
    std::string resource = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
    msg = "User \"" + user.name + "\" cannot " + a.verb + " resource \"" + resource + "\" in API group \"" +
          a.api_group + "\"" + (a.ns.empty() ? " at the cluster scope" : " in the namespace \"" + a.ns + "\"");
  }
  if (!reason.empty()) msg += ": " + reason;
  ApiError e;
  e.code = 403;
  e.reason = "Forbidden";
  std::string qualified = a.api_group.empty() ? a.resource : a.resource + "." + a.api_group;
  if (!a.resource_request) qualified = "";
  // apierrors.NewForbidden(gr, name, err): `<resource.group> "<name>" is forbidden: <err>`.
  e.message = (qualified.empty() ? std::string("forbidden") :
               a.name.empty() ? qualified + " is forbidden" : qualified + " \"" + a.name + "\" is forbidden") +
              ": " + msg;
  e.name = a.name;
  e.group = a.api_group;
  e.kind = a.resource;
  return e;
}

}  // namespace kinema::sim::rbac
