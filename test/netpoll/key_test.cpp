// key_table: a key is unique for its operation's life, and a key whose
// operation ended is recognised as stale even after its slot is reused (the
// cancel-by-key ambiguity of lib/netpoll/poller.hpp, "Operations and keys").
#include "netpoll/key.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <vector>

using goro::detail::is_internal_key;
using goro::detail::key_table;

TEST_CASE("key_table: a key finds its operation until it is released", "[netpoll][key]")
{
    key_table keys;
    int a = 0, b = 0;
    std::uint64_t ka = keys.acquire(&a);
    std::uint64_t kb = keys.acquire(&b);
    CHECK(ka != kb);
    CHECK(keys.find(ka) == &a);
    CHECK(keys.find(kb) == &b);
    CHECK(keys.live() == 2);
    keys.release(ka);
    CHECK(keys.find(ka) == nullptr);
    CHECK(keys.find(kb) == &b);
    CHECK(keys.live() == 1);
}

TEST_CASE("key_table: a reused slot gets a new key, and the old one stays stale", "[netpoll][key]")
{
    key_table keys;
    int first = 0, second = 0;
    std::uint64_t old_key = keys.acquire(&first);
    keys.release(old_key);
    std::uint64_t new_key = keys.acquire(&second); // the same slot, freed last
    CHECK((new_key & 0xffff'ffff) == (old_key & 0xffff'ffff));
    CHECK(new_key != old_key);
    // A late cancel or completion carrying the old key must not reach the
    // operation that now holds the slot.
    CHECK(keys.find(old_key) == nullptr);
    CHECK(keys.find(new_key) == &second);
}

TEST_CASE("key_table: keys stay unique across many reuses and never carry the internal bit", "[netpoll][key]")
{
    key_table keys;
    std::vector<int> ops(16);
    std::set<std::uint64_t> issued;
    std::vector<std::uint64_t> live;
    bool internal = false;
    for (int round = 0; round < 1000; ++round) {
        for (int& op : ops) {
            std::uint64_t k = keys.acquire(&op);
            internal = internal || is_internal_key(k);
            issued.insert(k);
            live.push_back(k);
        }
        for (std::uint64_t k : live)
            keys.release(k);
        live.clear();
    }
    CHECK_FALSE(internal);
    CHECK(issued.size() == 16 * 1000);
    CHECK(keys.live() == 0);
}

TEST_CASE("key_table: keys it never issued find nothing", "[netpoll][key]")
{
    key_table keys;
    int op = 0;
    std::uint64_t k = keys.acquire(&op);
    CHECK(keys.find(k + 1) == nullptr);                                // a slot beyond the table
    CHECK(keys.find(k | goro::detail::internal_key_bit) == nullptr);    // the poller's own
    CHECK(keys.find(k + (std::uint64_t(1) << 32)) == nullptr);          // another generation
}
