// `kinemactl catalog`: writes a catalog file (planning.md §2) from the live
// Google APIs, so nobody types prices by hand.
//
//   kinemactl catalog --project P --region R [--zones Z1,Z2] [--types T1,T2]
//                     [--endpoint COMPUTE_URL] [--billing-endpoint URL]
//                     [--token-file F] [--output FILE]
//
// Contract:
//   - Zones: --zones, else every zone of the region (zones.list). Machine
//     types: Compute machineTypes of those zones (a type's zones are those
//     that list it), restricted to --types when given. Prices: the Cloud
//     Billing Catalog's Compute Engine SKUs for the region (engine/pricing).
//   - Output: LiveCatalogJson (priced types only, sorted, prices rounded to
//     6 decimals), pretty-printed, to --output or stdout; every type left out
//     is named on stderr with the reason.
//   - Endpoints: --endpoint defaults to the real Compute API; the billing
//     endpoint defaults to the real one, or, for a custom --endpoint ending
//     in /compute/v1 (kinema-sim), the same server's /cloudbilling/v1.
//     Credentials: --token-file, else the metadata server for Google's
//     endpoints, else none.
//   - Exit codes: 0 written, 1 an API failed (the error names the call),
//     2 usage error or nothing could be priced.
#pragma once

#include <string>
#include <vector>

namespace kinema::ctl {

int RunCatalogCommand(const std::vector<std::string>& args);

}  // namespace kinema::ctl
