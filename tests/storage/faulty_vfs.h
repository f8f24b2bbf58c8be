// A SQLite VFS for tests that wraps the default one and fails xSync (fsync)
// or xWrite on demand, like a disk that reports EIO.
#pragma once

#include <atomic>

namespace kinema::testing {

inline constexpr const char* kFaultyVfsName = "kinema-faulty";
// Registers the VFS once (not as the default). Safe to call repeatedly.
void RegisterFaultyVfs();
extern std::atomic<bool> g_fail_sync;
extern std::atomic<bool> g_fail_write;

}  // namespace kinema::testing
