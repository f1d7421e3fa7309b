// The spillway: events kept in order outside Paho, on disk all or nothing, reloaded by the
// next process.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "errbridge/daemon/spillway.h"

using namespace errbridge::daemon;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    fs::path dir =
        fs::temp_directory_path() / ("errbridge-spill-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

SpilledEvent event(const std::string& payload) {
    return {"errors/lab/aliyun/pk/dev", payload, 1, false, "aliyun", "6207", "error", false};
}

}  // namespace

TEST_CASE("spillway: an event survives encoding byte for byte", "[daemon][spill]") {
    SpilledEvent e{"errors/lab/_invalid",
                   std::string("{\"a\":\"\0\xff\"}", 11),
                   1,
                   true,
                   "neuron",
                   "",
                   "",
                   true};
    auto back = decode_spilled(encode(e));
    REQUIRE(back);
    CHECK(back->topic == e.topic);
    CHECK(back->payload == e.payload);
    CHECK(back->qos == 1);
    CHECK(back->retain);
    CHECK(back->vendor == "neuron");
    CHECK(back->dead_letter);
    std::string truncated = encode(e);
    truncated.pop_back();
    CHECK_FALSE(decode_spilled(truncated));
    CHECK_FALSE(decode_spilled("not an event"));
}

TEST_CASE("spillway: the next process gets the events back in order", "[daemon][spill]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("order");
    {
        Spillway spill(dir, errors);
        CHECK(spill.load() == 0);
        for (int i = 0; i < 12; ++i)  // past 9 and 10, where name order could go wrong
            spill.push(event("event " + std::to_string(i)));
        spill.pop();  // event 0 went to Paho
        CHECK(spill.size() == 11);
    }
    Spillway next(dir, errors);
    REQUIRE(next.load() == 11);
    for (int i = 1; i < 12; ++i) {
        CHECK(next.front().payload == "event " + std::to_string(i));
        next.pop();
    }
    CHECK(next.empty());
    CHECK(fs::is_empty(dir));
    // Numbering continues after what was loaded, so new events sort last.
    next.push(event("after"));
    Spillway third(dir, errors);
    REQUIRE(third.load() == 1);
    CHECK(third.front().payload == "after");
    CHECK(errors == 0);
}

TEST_CASE("spillway: an unfinished write is dropped, a damaged file is counted and kept",
          "[daemon][spill]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("damaged");
    fs::create_directories(dir);
    std::ofstream(dir / ".00000000000000000001.tmp") << "half";
    std::ofstream(dir / "00000000000000000002") << "garbage";
    Spillway spill(dir, errors);
    CHECK(spill.load() == 0);
    CHECK(errors == 1);
    CHECK_FALSE(fs::exists(dir / ".00000000000000000001.tmp"));
    CHECK(fs::exists(dir / "00000000000000000002"));
}

TEST_CASE("spillway: in memory when persistence is memory; bytes follow the payloads",
          "[daemon][spill]") {
    std::atomic<std::uint64_t> errors{0};
    Spillway spill(std::nullopt, errors);
    CHECK(spill.load() == 0);
    spill.push(event("12345"));
    spill.push(event("123"));
    CHECK(spill.bytes() == 8);
    spill.pop();
    CHECK(spill.bytes() == 3);
}

TEST_CASE("spillway: a write that fails throws, so the input is not acknowledged",
          "[daemon][spill]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("failing");
    Spillway spill(dir, errors);
    spill.load();
    fs::remove_all(dir);
    std::ofstream(dir) << "a file where the directory was";
    CHECK_THROWS(spill.push(event("x")));
    CHECK(errors == 1);
    CHECK(spill.empty());
    fs::remove(dir);
}
