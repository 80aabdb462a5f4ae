// How many Ps a runtime gets when the user does not say (Go's GOMAXPROCS
// default, including Go 1.25's cgroup awareness).
#pragma once

#include <goro/config.hpp>

#include <optional>
#include <string>

namespace goro::inline GORO_ABI::detail {

/// CPUs this thread may run on (sched_getaffinity), at least 1.
unsigned affinity_cpus() noexcept;

/// The CPU limit of the cgroup this process is in, in CPUs rounded up, or
/// nullopt when there is no limit. `root` is the filesystem root to read
/// /proc/self/cgroup, /proc/self/mountinfo and the cgroup files under (tests
/// point it at a fake tree). Understands cgroup v2 (cpu.max) and v1
/// (cpu.cfs_quota_us / cpu.cfs_period_us), and takes the tightest limit on the
/// path from the process's cgroup up to the root.
std::optional<unsigned> cgroup_cpu_limit(const std::string& root = "/");

/// The most Ps a runtime may have (runtime_config::procs, GORO_MAXPROCS).
inline constexpr unsigned max_procs = 4096;

/// Parses a GORO_MAXPROCS value; throws std::invalid_argument naming it unless
/// it is a positive decimal integer (at most max_procs).
unsigned parse_maxprocs(const char* value);

/// GORO_MAXPROCS if set, else min(affinity_cpus(), cgroup_cpu_limit()).
unsigned default_procs();

/// The P count of a runtime configured with `procs` (runtime_config::procs):
/// `procs` itself if 1 to max_procs, default_procs() if 0. Throws
/// std::invalid_argument naming the value otherwise, or from default_procs().
unsigned resolve_procs(unsigned procs);

} // namespace goro::detail
