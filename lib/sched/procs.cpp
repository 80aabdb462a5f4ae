#include <goro/config.hpp>
#include "sched/procs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace goro::inline GORO_ABI::detail {

unsigned affinity_cpus() noexcept
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? unsigned(n) : 1;
}

namespace {

std::optional<std::string> read_first_line(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
        return std::nullopt;
    return line;
}

// quota/period in CPUs, rounded up; nullopt for "no limit".
std::optional<unsigned> cpus_of(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return std::nullopt;
    return unsigned(std::max<long long>(1, (quota + period - 1) / period));
}

void tighten(std::optional<unsigned>& limit, std::optional<unsigned> more)
{
    if (more && (!limit || *more < *limit))
        limit = more;
}

// The parent directories of a cgroup path, from itself up to "/".
std::vector<std::string> path_and_parents(std::string path)
{
    std::vector<std::string> out;
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    for (;;) {
        out.push_back(path.empty() ? "/" : path);
        auto slash = path.rfind('/');
        if (path.empty() || slash == std::string::npos)
            break;
        path.erase(slash);
    }
    return out;
}

std::optional<unsigned> v2_limit(const std::string& mount, const std::string& cgpath)
{
    std::optional<unsigned> limit;
    for (const std::string& dir : path_and_parents(cgpath)) {
        auto line = read_first_line(mount + (dir == "/" ? "" : dir) + "/cpu.max");
        if (!line)
            continue;
        std::istringstream in(*line);
        std::string quota;
        long long period = 0;
        if (!(in >> quota >> period) || quota == "max")
            continue;
        tighten(limit, cpus_of(std::atoll(quota.c_str()), period));
    }
    return limit;
}

std::optional<unsigned> v1_limit(const std::string& mount, const std::string& cgpath)
{
    std::optional<unsigned> limit;
    for (const std::string& dir : path_and_parents(cgpath)) {
        std::string base = mount + (dir == "/" ? "" : dir);
        auto quota = read_first_line(base + "/cpu.cfs_quota_us");
        auto period = read_first_line(base + "/cpu.cfs_period_us");
        if (!quota || !period)
            continue;
        tighten(limit, cpus_of(std::atoll(quota->c_str()), std::atoll(period->c_str())));
    }
    return limit;
}

struct mount_entry {
    std::string root;   // the cgroup path mounted there
    std::string point;  // where it is mounted
    std::string fstype; // cgroup or cgroup2
    std::string super_options;
};

std::vector<mount_entry> cgroup_mounts(const std::string& root)
{
    std::vector<mount_entry> out;
    std::ifstream in(root + "/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
        std::istringstream f(line);
        std::string id, parent, dev, mroot, point, opts, tok;
        if (!(f >> id >> parent >> dev >> mroot >> point >> opts))
            continue;
        while (f >> tok && tok != "-") {
        }
        std::string fstype, source, super;
        if (!(f >> fstype >> source >> super))
            continue;
        if (fstype == "cgroup" || fstype == "cgroup2")
            out.push_back({mroot, point, fstype, super});
    }
    return out;
}

bool has_option(const std::string& csv, const std::string& opt)
{
    std::istringstream in(csv);
    std::string item;
    while (std::getline(in, item, ','))
        if (item == opt)
            return true;
    return false;
}

// The process's cgroup path relative to a mount whose root is `mroot`.
std::string relative_to(const std::string& cgpath, const std::string& mroot)
{
    if (mroot == "/" || mroot.empty())
        return cgpath;
    if (cgpath.compare(0, mroot.size(), mroot) == 0)
        return cgpath.substr(mroot.size());
    return "/";
}

} // namespace

std::optional<unsigned> cgroup_cpu_limit(const std::string& root_in)
{
    std::string root = root_in == "/" ? "" : root_in;
    std::ifstream in(root + "/proc/self/cgroup");
    if (!in)
        return std::nullopt;
    auto mounts = cgroup_mounts(root);
    std::optional<unsigned> limit;
    std::string line;
    while (std::getline(in, line)) {
        // hierarchy-id:controllers:path
        auto c1 = line.find(':');
        auto c2 = line.find(':', c1 + 1);
        if (c1 == std::string::npos || c2 == std::string::npos)
            continue;
        std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
        std::string path = line.substr(c2 + 1);
        bool v2 = line.compare(0, c1, "0") == 0 && controllers.empty();
        for (const mount_entry& m : mounts) {
            if (v2 && m.fstype == "cgroup2")
                tighten(limit, v2_limit(root + m.point, relative_to(path, m.root)));
            else if (!v2 && m.fstype == "cgroup" && has_option(controllers, "cpu") && has_option(m.super_options, "cpu"))
                tighten(limit, v1_limit(root + m.point, relative_to(path, m.root)));
        }
    }
    return limit;
}

unsigned parse_maxprocs(const char* value)
{
    std::string s = value ? value : "";
    bool digits = !s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    unsigned n = digits ? unsigned(std::stoul(s)) : 0;
    if (n == 0 || n > max_procs)
        throw std::invalid_argument(
            fmt::format("GORO_MAXPROCS=\"{}\": want a whole number of Ps from 1 to {}", s, max_procs));
    return n;
}

unsigned default_procs()
{
    if (const char* env = std::getenv("GORO_MAXPROCS"))
        return parse_maxprocs(env);
    unsigned n = affinity_cpus();
    if (auto limit = cgroup_cpu_limit())
        n = std::min(n, *limit);
    return std::max(1u, n);
}

unsigned resolve_procs(unsigned procs)
{
    if (procs == 0)
        return default_procs();
    if (procs > max_procs)
        throw std::invalid_argument(fmt::format(
            "goro::runtime_config::procs = {}: want 1 to {} Ps, or 0 for the default", procs, max_procs));
    return procs;
}

} // namespace goro::detail
