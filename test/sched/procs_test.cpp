// The default P count: GORO_MAXPROCS parsing and the cgroup CPU limit, read
// from fake /proc and cgroup trees (v2 cpu.max, v1 cfs quota, nested limits).
#include "sched/procs.hpp"
#include "support/temp_dir.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;

namespace {

struct fake_root : goro_test::temp_dir {
    fake_root() : temp_dir("goro-procs") {}
    void write(const std::string& rel, const std::string& text) const
    {
        fs::path p = dir / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
};

} // namespace

TEST_CASE("procs: GORO_MAXPROCS must be a positive whole number", "[procs]")
{
    using goro::detail::parse_maxprocs;
    CHECK(parse_maxprocs("1") == 1);
    CHECK(parse_maxprocs("12") == 12);
    CHECK_THROWS_AS(parse_maxprocs("0"), std::invalid_argument);
    CHECK_THROWS_AS(parse_maxprocs("-2"), std::invalid_argument);
    CHECK_THROWS_AS(parse_maxprocs("two"), std::invalid_argument);
    CHECK_THROWS_AS(parse_maxprocs(""), std::invalid_argument);
    CHECK_THROWS_AS(parse_maxprocs("99999"), std::invalid_argument);
    CHECK_THROWS_WITH(parse_maxprocs("abc"), Catch::Contains("GORO_MAXPROCS=\"abc\""));
}

TEST_CASE("procs: GORO_MAXPROCS sets the runtime's P count", "[procs]")
{
    setenv("GORO_MAXPROCS", "3", 1);
    goro::runtime rt;
    CHECK(rt.procs() == 3);
    CHECK(goro::gomaxprocs() == 3);
    setenv("GORO_MAXPROCS", "lots", 1);
    CHECK_THROWS_AS(goro::runtime(), std::invalid_argument);
    unsetenv("GORO_MAXPROCS");
    CHECK(goro::runtime().procs() >= 1);
}

namespace {
goro::task<int> answer() { co_return 42; }
} // namespace

TEST_CASE("procs: runtime_config::procs is 0 (the default) or 1 to 4096", "[procs]")
{
    CHECK(goro::runtime(goro::runtime_config{1}).procs() == 1);
    CHECK(goro::runtime(goro::runtime_config{4096}).procs() == 4096);
    CHECK(goro::runtime(goro::runtime_config{0}).procs() == goro::gomaxprocs());
    for (unsigned bad : {4097u, 5000u, 100000u, UINT_MAX})
        CHECK_THROWS_AS(goro::runtime(goro::runtime_config{bad}), std::invalid_argument);
    CHECK_THROWS_WITH(goro::runtime(goro::runtime_config{5000}),
                      Catch::Contains("procs = 5000") && Catch::Contains("1 to 4096"));
    // The constructor throws before the main task exists, so nothing leaks
    // (the sanitizer builds run LeakSanitizer); 4096 Ps would start as many
    // threads, so the run itself is tried with 1.
    CHECK_THROWS_AS(goro::runtime(goro::runtime_config{UINT_MAX}).run(answer()), std::invalid_argument);
    CHECK(goro::runtime(goro::runtime_config{1}).run(answer()) == 42);
}

TEST_CASE("procs: cgroup v2 cpu.max, tightest limit on the path wins", "[procs]")
{
    fake_root r;
    r.write("proc/self/cgroup", "0::/user.slice/app.scope\n");
    r.write("proc/self/mountinfo",
            "22 1 0:21 / /proc rw - proc proc rw\n"
            "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
    r.write("sys/fs/cgroup/cpu.max", "max 100000\n");
    r.write("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
    r.write("sys/fs/cgroup/user.slice/app.scope/cpu.max", "150000 100000\n");
    CHECK(goro::detail::cgroup_cpu_limit(r.dir.string()) == 2u); // 1.5 CPUs rounds up

    r.write("sys/fs/cgroup/user.slice/cpu.max", "50000 100000\n");
    CHECK(goro::detail::cgroup_cpu_limit(r.dir.string()) == 1u); // the parent is tighter

    r.write("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
    r.write("sys/fs/cgroup/user.slice/app.scope/cpu.max", "max 100000\n");
    CHECK_FALSE(goro::detail::cgroup_cpu_limit(r.dir.string()).has_value());
}

TEST_CASE("procs: cgroup v2 namespace root mount", "[procs]")
{
    fake_root r; // inside a container the process sees its cgroup as "/"
    r.write("proc/self/cgroup", "0::/\n");
    r.write("proc/self/mountinfo", "30 22 0:26 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n");
    r.write("sys/fs/cgroup/cpu.max", "400000 100000\n");
    CHECK(goro::detail::cgroup_cpu_limit(r.dir.string()) == 4u);
}

TEST_CASE("procs: cgroup v1 cfs quota", "[procs]")
{
    fake_root r;
    r.write("proc/self/cgroup", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n");
    r.write("proc/self/mountinfo",
            "40 30 0:35 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
            "41 30 0:36 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    CHECK(goro::detail::cgroup_cpu_limit(r.dir.string()) == 3u);
}

TEST_CASE("procs: no cgroup information means no limit", "[procs]")
{
    fake_root r;
    CHECK_FALSE(goro::detail::cgroup_cpu_limit(r.dir.string()).has_value());
    CHECK(goro::detail::affinity_cpus() >= 1);
}
