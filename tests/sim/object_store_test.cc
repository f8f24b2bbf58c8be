#include <gtest/gtest.h>

#include "tools/kinema-sim/object_store.h"

namespace kinema::sim {
namespace {

using nlohmann::json;
using Mutation = ObjectStore::Mutation;

const ResourceType& Pods() { return *ResourceRegistry::Default().Find("", "v1", "pods"); }
const ResourceType& Nodes() { return *ResourceRegistry::Default().Find("", "v1", "nodes"); }

ObjectPtr Put(ObjectStore& s, const ResourceType& rt, const std::string& ns, const std::string& name, json labels) {
  json obj = {{"metadata", {{"name", name}, {"labels", labels}}}};
  if (!ns.empty()) obj["metadata"]["namespace"] = ns;
  auto r = s.Mutate(rt, ns, name, [&](const ObjectPtr&) -> ApiResult<Mutation> {
    return Mutation{Mutation::Action::kPut, obj};
  });
  EXPECT_TRUE(r.ok());
  return r.value();
}

void Remove(ObjectStore& s, const ResourceType& rt, const std::string& ns, const std::string& name) {
  auto r = s.Mutate(rt, ns, name, [](const ObjectPtr&) -> ApiResult<Mutation> { return Mutation{Mutation::Action::kRemove, {}}; });
  EXPECT_TRUE(r.ok());
}

TEST(ObjectStore, OneGlobalMonotonicResourceVersion) {
  ObjectStore s(100);
  auto a = Put(s, Nodes(), "", "a", json::object());
  auto b = Put(s, Pods(), "ns", "p", json::object());
  auto a2 = Put(s, Nodes(), "", "a", json{{"x", "1"}});
  EXPECT_LT(a->rv, b->rv);
  EXPECT_LT(b->rv, a2->rv);
  EXPECT_EQ(a2->body["metadata"]["resourceVersion"], std::to_string(a2->rv));
  EXPECT_EQ(s.CurrentRv(), a2->rv);
  EXPECT_EQ(s.Get(Nodes(), "", "a")->rv, a2->rv);
}

TEST(ObjectStore, ListFiltersByNamespaceAndSortsByName) {
  ObjectStore s(100);
  Put(s, Pods(), "b", "z", json::object());
  Put(s, Pods(), "a", "y", json::object());
  Put(s, Pods(), "a", "x", json::object());
  Put(s, Pods(), "ab", "w", json::object());
  WatchFilter f;
  f.resource = &Pods();
  auto all = s.List(f).items;
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]->name, "x");
  f.ns = "a";
  auto in_a = s.List(f).items;
  ASSERT_EQ(in_a.size(), 2u);
  EXPECT_EQ(in_a[1]->name, "y");
}

TEST(ObjectStore, WatchResumesFromResourceVersionAndTranslatesSelectorTransitions) {
  ObjectStore s(100);
  Put(s, Pods(), "n", "p", json{{"app", "web"}});
  uint64_t rv = s.CurrentRv();
  Put(s, Pods(), "n", "p", json{{"app", "db"}});    // leaves the selector: DELETED
  Put(s, Pods(), "n", "p", json{{"app", "web"}});   // enters again: ADDED
  Put(s, Pods(), "n", "q", json{{"app", "other"}}); // never matches
  Remove(s, Pods(), "n", "p");
  WatchFilter f;
  f.resource = &Pods();
  f.labels = LabelSelector::Parse("app=web").value();
  auto w = s.Watch(f, rv, nullptr);
  ASSERT_TRUE(w.ok());
  auto items = w.value()->Take();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].type, "DELETED");
  EXPECT_EQ(items[1].type, "ADDED");
  EXPECT_EQ(items[2].type, "DELETED");
  EXPECT_EQ(items[2].object->rv, s.CurrentRv());
  Put(s, Pods(), "n", "r", json{{"app", "web"}});
  items = w.value()->Take();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].type, "ADDED");
  s.Bookmark(w.value());
  items = w.value()->Take();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].type, "BOOKMARK");
  EXPECT_EQ(items[0].rv, s.CurrentRv());
}

TEST(ObjectStore, WatchWithoutResourceVersionStartsWithAddedEvents) {
  ObjectStore s(100);
  Put(s, Nodes(), "", "a", json::object());
  Put(s, Nodes(), "", "b", json::object());
  WatchFilter f;
  f.resource = &Nodes();
  auto w = s.Watch(f, std::nullopt, nullptr);
  auto items = w.value()->Take();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].type, "ADDED");
}

TEST(ObjectStore, TooOldResourceVersionIsGone) {
  ObjectStore s(3);
  Put(s, Nodes(), "", "a", json::object());
  uint64_t old = s.CurrentRv();
  for (int i = 0; i < 5; ++i) Put(s, Nodes(), "", "a", json{{"i", std::to_string(i)}});
  WatchFilter f;
  f.resource = &Nodes();
  auto w = s.Watch(f, old, nullptr);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, 410);
  EXPECT_EQ(w.error().reason, "Expired");
  EXPECT_TRUE(s.Watch(f, s.HistoryFloor(), nullptr).ok());
}

TEST(ObjectStore, SlowWatcherOverflowsInsteadOfGrowingWithoutBound) {
  ObjectStore s(100);
  WatchFilter f;
  f.resource = &Nodes();
  auto w = s.Watch(f, s.CurrentRv(), nullptr, 3);
  for (int i = 0; i < 5; ++i) Put(s, Nodes(), "", "n" + std::to_string(i), json::object());
  EXPECT_TRUE(w.value()->overflowed());
}

}  // namespace
}  // namespace kinema::sim
