// A fresh directory under /tmp for one test, removed with its contents when
// the test ends.
#pragma once

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace goro_test {

struct temp_dir {
    std::filesystem::path dir;

    /// /tmp/<prefix>-XXXXXX; fails the test if it cannot be made.
    explicit temp_dir(const std::string& prefix)
    {
        std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    /// The path of `name` inside the directory.
    std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

} // namespace goro_test
