// goro::result<T>: a value or an errno error_code, Go's (T, error).
#include <goro/result.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <memory>
#include <string>
#include <system_error>

TEST_CASE("result holds a value", "[result]")
{
    goro::result<std::string> r(std::string("hello"));
    CHECK(r.ok());
    CHECK(static_cast<bool>(r));
    CHECK(!r.error());
    CHECK(r.value() == "hello");
    CHECK(*r == "hello");
    CHECK(r->size() == 5);
    std::string taken = std::move(r).value();
    CHECK(taken == "hello");
}

TEST_CASE("result holds an error with errno's meaning", "[result]")
{
    goro::result<int> r = goro::errno_code(ENOENT);
    CHECK(!r.ok());
    CHECK(!r);
    CHECK(r.error().value() == ENOENT);
    CHECK(r.error().category() == std::system_category());
    CHECK(r.error() == std::errc::no_such_file_or_directory);
    CHECK(r.error() != std::errc::is_a_directory);
    try {
        (void)r.value();
        FAIL("value() of an error did not throw");
    } catch (const std::system_error& e) {
        CHECK(e.code() == r.error());
    }
    CHECK_THROWS_AS(*r, std::system_error);
}

TEST_CASE("result of a move-only value", "[result]")
{
    goro::result<std::unique_ptr<int>> r(std::make_unique<int>(7));
    REQUIRE(r.ok());
    CHECK(**r == 7);
    goro::result<std::unique_ptr<int>> moved = std::move(r);
    std::unique_ptr<int> p = std::move(moved).value();
    REQUIRE(p);
    CHECK(*p == 7);
}

TEST_CASE("result<void>", "[result]")
{
    goro::result<void> good;
    CHECK(good.ok());
    CHECK(!good.error());
    CHECK_NOTHROW(good.value());

    goro::result<void> bad = goro::errno_code(EBADF);
    CHECK(!bad);
    CHECK(bad.error() == std::errc::bad_file_descriptor);
    CHECK_THROWS_AS(bad.value(), std::system_error);
}

TEST_CASE("a result cannot hold an empty error", "[result]")
{
    CHECK_THROWS_AS(goro::result<int>(std::error_code()), goro::panic);
    CHECK_THROWS_AS(goro::result<void>(std::error_code()), goro::panic);
}
