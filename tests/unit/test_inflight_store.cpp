// The crash-safe persistence under Paho: whole writes, queued commands kept until the
// in-flight copy that replaces them is on disk, unfinished writes ignored.

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "errbridge/daemon/inflight_store.h"

using errbridge::daemon::InflightStore;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    fs::path dir =
        fs::temp_directory_path() / ("errbridge-store-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

void put(InflightStore& store, const std::string& key, const std::string& a,
         const std::string& b = "") {
    store.put(key, {mqtt::string_view(a), mqtt::string_view(b)});
}

std::vector<std::string> sorted_keys(const InflightStore& store) {
    auto keys = store.keys();
    std::vector<std::string> out;
    for (std::size_t i = 0; i < keys.size(); ++i)
        out.push_back(keys[i]);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("inflight store: put joins the buffers, get reads them back, remove deletes",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    InflightStore store(fresh_dir("basic") / "inflight", errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "s5-7", "head", "body");
    CHECK(store.get("s5-7") == "headbody");
    CHECK(store.contains_key("s5-7"));
    put(store, "s5-7", "again");
    CHECK(store.get("s5-7") == "again");
    store.remove("s5-7");
    CHECK_FALSE(store.contains_key("s5-7"));
    CHECK_THROWS(store.get("s5-7"));
    CHECK(errors == 0);
}

TEST_CASE(
    "inflight store: a queued command stays on disk until the next in-flight copy is "
    "written",
    "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("deferred") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "c5-1", "event one");
    put(store, "c5-2", "event two");

    // Paho deletes the command, then writes the copy it sends: a kill in between must
    // leave the command.
    store.remove("c5-1");
    CHECK(fs::exists(dir / "c5-1"));
    CHECK_FALSE(store.contains_key("c5-1"));  // gone as far as Paho is concerned
    CHECK(sorted_keys(store) == std::vector<std::string>{"c5-2"});

    put(store, "s5-10", "event one, in flight");
    CHECK_FALSE(fs::exists(dir / "c5-1"));
    CHECK(fs::exists(dir / "c5-2"));
    CHECK(sorted_keys(store) == std::vector<std::string>{"c5-2", "s5-10"});

    // Another kind of entry does not release deferred commands.
    store.remove("c5-2");
    put(store, "q5-3", "an inbound message");
    CHECK(fs::exists(dir / "c5-2"));
}

TEST_CASE("inflight store: an unfinished write is never an entry", "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("unfinished") / "inflight";
    fs::create_directories(dir);
    std::ofstream(dir / ".s5-4.tmp") << "half";
    std::ofstream(dir / "s5-5") << "whole";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    CHECK(sorted_keys(store) == std::vector<std::string>{"s5-5"});
    CHECK_FALSE(fs::exists(dir / ".s5-4.tmp"));
}

TEST_CASE("inflight store: failed writes throw and are counted", "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("failing") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    fs::remove_all(dir);
    std::ofstream(dir) << "a file where the directory was";
    CHECK_THROWS(put(store, "s5-1", "event"));
    CHECK(errors == 1);
    fs::remove(dir);
}

TEST_CASE("inflight store: clear forgets everything, deferred commands included",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("clear") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "c5-1", "a");
    put(store, "s5-2", "b");
    store.remove("c5-1");
    store.clear();
    CHECK(sorted_keys(store).empty());
    CHECK(fs::is_empty(dir));
}
