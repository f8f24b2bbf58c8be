#include "engine/cloud/offering_availability.h"

#include <gtest/gtest.h>

namespace kinema::cloud {
namespace {

using namespace std::chrono_literals;

TEST(OfferingAvailability, AMarkedOfferingIsUnavailableUntilItsTimeToLivePasses) {
  Clock::time_point now = Clock::now();
  OfferingAvailability o([&] { return now; });
  EXPECT_TRUE(o.Available("e2-standard-8", "us-central1-a", CapacityType::kSpot));
  o.Mark("e2-standard-8", "us-central1-a", CapacityType::kSpot, 180s, "ZONE_RESOURCE_POOL_EXHAUSTED");
  EXPECT_FALSE(o.Available("e2-standard-8", "us-central1-a", CapacityType::kSpot));
  EXPECT_TRUE(o.Available("e2-standard-8", "us-central1-a", CapacityType::kOnDemand)) << "capacity types differ";
  EXPECT_TRUE(o.Available("e2-standard-8", "us-central1-b", CapacityType::kSpot)) << "zones differ";
  ASSERT_EQ(o.List().size(), 1u);
  EXPECT_EQ(o.List()[0].reason, "ZONE_RESOURCE_POOL_EXHAUSTED");
  now += 179s;
  EXPECT_FALSE(o.Available("e2-standard-8", "us-central1-a", CapacityType::kSpot));
  now += 2s;
  EXPECT_TRUE(o.Available("e2-standard-8", "us-central1-a", CapacityType::kSpot));
  EXPECT_TRUE(o.List().empty());
}

TEST(OfferingAvailability, TheLaterExpiryWins) {
  Clock::time_point now = Clock::now();
  OfferingAvailability o([&] { return now; });
  o.Mark("t", "z", CapacityType::kOnDemand, 600s, "quota");
  o.Mark("t", "z", CapacityType::kOnDemand, 30s, "ip space");
  now += 60s;
  EXPECT_FALSE(o.Available("t", "z", CapacityType::kOnDemand));
  EXPECT_EQ(o.List()[0].reason, "quota");
}

}  // namespace
}  // namespace kinema::cloud
