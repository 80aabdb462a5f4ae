// The descriptors this process has open (/proc/self/fd), for tests that
// check that nothing leaks.
#pragma once

#include <catch2/catch.hpp>

#include <dirent.h>
#include <stdlib.h>

#include <set>

namespace goro_test {

inline std::set<int> open_fds()
{
    std::set<int> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    REQUIRE(dir != nullptr);
    const int own = ::dirfd(dir);
    while (dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.' && std::atoi(e->d_name) != own)
            fds.insert(std::atoi(e->d_name));
    ::closedir(dir);
    return fds;
}

} // namespace goro_test
