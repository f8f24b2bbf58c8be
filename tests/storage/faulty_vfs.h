// A SQLite VFS for tests that wraps the default one and fails xSync (fsync)
// or xWrite on demand, like a disk that reports EIO; it can also make every
// sync slow (a disk with a long flush) and counts syncs begun and finished.
#pragma once

#include <atomic>
#include <cstdint>

namespace kinema::testing {

inline constexpr const char* kFaultyVfsName = "kinema-faulty";
// Registers the VFS once (not as the default). Safe to call repeatedly.
void RegisterFaultyVfs();
extern std::atomic<bool> g_fail_sync;
extern std::atomic<bool> g_fail_write;
extern std::atomic<int> g_sync_delay_us;     // each xSync sleeps this long first
extern std::atomic<int64_t> g_syncs_begun;   // xSync calls entered
extern std::atomic<int64_t> g_syncs_done;    // xSync calls that returned OK

}  // namespace kinema::testing
