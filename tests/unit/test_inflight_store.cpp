// The crash-safe persistence under Paho: whole records, queued commands kept until the
// in-flight copy that replaces them is in the log, torn records ignored. A second store
// opened on the same directory models a restart after kill -9 (the log as the killed
// process left it).

#include <mqtt/exception.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

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

// What a restarted process finds in `dir`: every key with its bytes.
std::map<std::string, std::string> restart(const fs::path& dir) {
    std::atomic<std::uint64_t> errors{0};
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    std::map<std::string, std::string> out;
    for (const auto& key : sorted_keys(store))
        out[key] = store.get(key);
    CHECK(errors == 0);
    return out;
}

std::vector<std::string> restart_keys(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& [key, data] : restart(dir))
        out.push_back(key);
    return out;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Size of one record in the log (header, key, data, CRC).
std::uintmax_t record_size(const std::string& key, std::size_t data) {
    return 12 + key.size() + data + 4;
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
    CHECK(restart_keys(dir) == std::vector<std::string>{"c5-1", "c5-2"});
    CHECK_FALSE(store.contains_key("c5-1"));  // gone as far as Paho is concerned
    CHECK(sorted_keys(store) == std::vector<std::string>{"c5-2"});
    CHECK(store.get("c5-1") == "event one");  // still readable, as a file on disk was

    put(store, "s5-10", "event one, in flight");
    CHECK(restart_keys(dir) == std::vector<std::string>{"c5-2", "s5-10"});
    CHECK(sorted_keys(store) == std::vector<std::string>{"c5-2", "s5-10"});

    // Another kind of entry does not release deferred commands.
    store.remove("c5-2");
    put(store, "q5-3", "an inbound message");
    CHECK(restart_keys(dir) == std::vector<std::string>{"c5-2", "q5-3", "s5-10"});
    CHECK(sorted_keys(store) == std::vector<std::string>{"q5-3", "s5-10"});
    CHECK(errors == 0);
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
    CHECK(store.get("s5-5") == "whole");
}

TEST_CASE("inflight store: failed writes throw and are counted", "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("failing") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "s5-0", "before");
    put(store, "s5-9", "nine");
    fs::remove_all(dir);
    std::ofstream(dir) << "a file where the directory was";
    CHECK_THROWS_AS(put(store, "s5-1", "event"), mqtt::persistence_exception);
    CHECK(errors == 1);
    // Paho is not told the failed entry is there.
    CHECK_FALSE(store.contains_key("s5-1"));
    CHECK_THROWS(store.get("s5-1"));
    CHECK(sorted_keys(store) == std::vector<std::string>{"s5-0", "s5-9"});
    CHECK_THROWS(put(store, "s5-2", "event"));
    CHECK(errors == 2);
    // An entry that failed to be written again is not claimed with either version.
    CHECK_THROWS(put(store, "s5-9", "nine, changed"));
    CHECK(errors == 3);
    CHECK_FALSE(store.contains_key("s5-9"));
    CHECK(sorted_keys(store) == std::vector<std::string>{"s5-0"});

    // The directory back: the next write starts a new log with every live entry.
    fs::remove(dir);
    fs::create_directories(dir);
    put(store, "s5-3", "after");
    CHECK(errors == 3);
    CHECK(restart(dir) ==
          std::map<std::string, std::string>{{"s5-0", "before"}, {"s5-3", "after"}});
    fs::remove_all(dir);
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
    CHECK(restart_keys(dir).empty());

    // Still usable after a clear; the released command does not come back.
    put(store, "s5-3", "c");
    CHECK(restart(dir) == std::map<std::string, std::string>{{"s5-3", "c"}});
    CHECK(errors == 0);
}

TEST_CASE("inflight store: a restart sees exactly the live entries, byte for byte",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("restart") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    constexpr char binary_bytes[] = "\0\x01\xff\n\r zero\0end";  // 14 bytes and the final NUL
    const std::string binary(binary_bytes, sizeof binary_bytes - 1);
    std::string large(100000, 'x');
    for (std::size_t i = 0; i < large.size(); ++i)
        large[i] = static_cast<char>(i * 7);
    put(store, "s5-1", binary, "tail");
    put(store, "s5-2", "gone");
    put(store, "c5-3", "old");
    put(store, "c5-3", "new", "er");
    put(store, "q5-4", large);
    put(store, "s5-5", "");  // an empty entry is still an entry
    store.remove("s5-2");
    store.remove("s5-99");  // never written
    std::map<std::string, std::string> expected{
        {"s5-1", binary + "tail"}, {"c5-3", "newer"}, {"q5-4", large}, {"s5-5", ""}};
    CHECK(restart(dir) == expected);
    // The restarted store rewrote the log; the first one carries on and still persists.
    put(store, "s5-6", "six");
    store.remove("q5-4");
    expected["s5-6"] = "six";
    expected.erase("q5-4");
    CHECK(restart(dir) == expected);
    CHECK(errors == 0);
}

TEST_CASE("inflight store: a torn record at the end of the log is dropped, nothing before it",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("torn") / "inflight";
    {
        InflightStore store(dir, errors);
        store.open("client", "tcp://127.0.0.1:1883");
        put(store, "s5-1", "one");
        put(store, "s5-2", "two");
        put(store, "s5-3", "three, torn");
    }
    const fs::path log = dir / "log";
    auto whole = fs::file_size(log);

    SECTION("cut inside the last record") {
        fs::resize_file(log, whole - 5);
        CHECK(restart(dir) == std::map<std::string, std::string>{{"s5-1", "one"}, {"s5-2", "two"}});
    }
    SECTION("cut inside the last record's header") {
        fs::resize_file(log, whole - record_size("s5-3", 11) + 7);
        CHECK(restart_keys(dir) == std::vector<std::string>{"s5-1", "s5-2"});
    }
    SECTION("garbage after the last record") {
        std::ofstream(log, std::ios::binary | std::ios::app) << "ERP1\x04garbage that is no record";
        CHECK(restart_keys(dir) == std::vector<std::string>{"s5-1", "s5-2", "s5-3"});
    }
    SECTION("a damaged byte in the last record") {
        std::string bytes = read_file(log);
        bytes[bytes.size() - 8] ^= 0x20;
        std::ofstream(log, std::ios::binary | std::ios::trunc) << bytes;
        CHECK(restart_keys(dir) == std::vector<std::string>{"s5-1", "s5-2"});
    }
    // Later writes are not lost behind the torn record.
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "s5-4", "four");
    store.remove("s5-1");
    auto after = restart(dir);
    CHECK(after.count("s5-1") == 0);
    CHECK(after.at("s5-2") == "two");
    CHECK(after.at("s5-4") == "four");
    CHECK(errors == 0);
}

TEST_CASE("inflight store: a deferred command survives a restart until its copy is written",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("deferred-restart") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "c5-1", "event one");
    store.remove("c5-1");
    // Killed before the in-flight copy: the command is there after the restart.
    CHECK(restart(dir) == std::map<std::string, std::string>{{"c5-1", "event one"}});

    put(store, "s5-7", "event one, in flight");
    CHECK(restart(dir) == std::map<std::string, std::string>{{"s5-7", "event one, in flight"}});

    SECTION("a put of the same key again takes it back from the deferred deletions") {
        put(store, "c5-2", "event two");
        store.remove("c5-2");
        put(store, "c5-2", "event two, queued again");
        CHECK(store.contains_key("c5-2"));
        put(store, "s5-8", "another copy");
        CHECK(sorted_keys(store) == std::vector<std::string>{"c5-2", "s5-7", "s5-8"});
        CHECK(restart(dir).at("c5-2") == "event two, queued again");
    }
    CHECK(errors == 0);
}

TEST_CASE("inflight store: killed between the copy and the deletion, both are there",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("deferred-cut") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "c5-1", "event one");
    store.remove("c5-1");
    const fs::path log = dir / "log";
    auto size = fs::file_size(log);
    put(store, "s5-7", "event one, in flight");
    // The PUT record of the copy, then the DEL record of the command.
    REQUIRE(fs::file_size(log) == size + record_size("s5-7", 20) + record_size("c5-1", 0));
    const std::string whole = read_file(log);
    fs::resize_file(log, size + record_size("s5-7", 20));
    CHECK(restart_keys(dir) == std::vector<std::string>{"c5-1", "s5-7"});  // duplicate
    std::ofstream(log, std::ios::binary | std::ios::trunc) << whole.substr(0, size + 20);
    CHECK(restart_keys(dir) == std::vector<std::string>{"c5-1"});  // copy torn
    CHECK(errors == 0);
}

TEST_CASE("inflight store: compaction keeps every live entry and bounds the log",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("compact") / "inflight";
    InflightStore store(dir, errors, 16 * 1024);
    store.open("client", "tcp://127.0.0.1:1883");
    const std::string payload(1200, 'p');
    std::map<std::string, std::string> expected;
    // Some entries that stay for the whole run, one deferred command among them.
    for (int i = 0; i < 5; ++i) {
        put(store, "q5-" + std::to_string(i), "kept " + std::to_string(i));
        expected["q5-" + std::to_string(i)] = "kept " + std::to_string(i);
    }
    put(store, "c5-1000", "deferred");
    store.remove("c5-1000");
    expected["c5-1000"] = "deferred";
    std::uintmax_t largest = 0;
    // Paho's sequence per event, without the in-flight copy releasing c5-1000 until the
    // end (no s5 put in between; acks arrive on q5 keys instead).
    for (int i = 0; i < 500; ++i) {
        std::string key = "q5-" + std::to_string(100 + i);
        put(store, key, payload, std::to_string(i));
        CHECK(store.get(key) == payload + std::to_string(i));
        if (i % 10 != 9) store.remove(key);  // every tenth stays
        if (i % 10 == 9) expected[key] = payload + std::to_string(i);
        largest = std::max(largest, fs::file_size(dir / "log"));
    }
    CHECK(store.log_size() == fs::file_size(dir / "log"));
    // 50 live entries of ~1.2 KB: the log was rewritten many times over.
    CHECK(largest < 4 * 16 * 1024 + 4 * 1300 * 50);
    CHECK(fs::file_size(dir / "log") < 600 * 1300 / 2);
    CHECK(restart(dir) == expected);
    CHECK_FALSE(store.contains_key("c5-1000"));  // still deferred in this process
    put(store, "s5-1", "copy");
    expected.erase("c5-1000");
    expected["s5-1"] = "copy";
    CHECK(restart(dir) == expected);
    CHECK(errors == 0);
}

TEST_CASE("inflight store: entries of the per-key store are imported, then deleted",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("migrate") / "inflight";
    fs::create_directories(dir);
    const std::string binary("a\0b\xff", 4);
    std::ofstream(dir / "s5-12", std::ios::binary) << binary;
    std::ofstream(dir / "c5-3") << "queued";
    std::ofstream(dir / "q5-1") << "inbound";
    std::ofstream(dir / "c5-4");  // empty, as Paho's own store could leave it
    std::ofstream(dir / ".c5-5.tmp") << "unfinished";
    {
        InflightStore store(dir, errors);
        store.open("client", "tcp://127.0.0.1:1883");
        CHECK(sorted_keys(store) == std::vector<std::string>{"c5-3", "c5-4", "q5-1", "s5-12"});
        CHECK(store.get("s5-12") == binary);
        // Only the log is left.
        std::vector<std::string> files;
        for (const auto& entry : fs::directory_iterator(dir))
            files.push_back(entry.path().filename().string());
        CHECK(files == std::vector<std::string>{"log"});
        store.remove("q5-1");
    }
    CHECK(restart(dir) ==
          std::map<std::string, std::string>{{"c5-3", "queued"}, {"c5-4", ""}, {"s5-12", binary}});
    CHECK(errors == 0);
}

TEST_CASE("inflight store: opened again on the same object, it keeps deferred commands hidden",
          "[daemon][store]") {
    // The session rebuilds its Paho client on the same store: close, then open again.
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("reopen") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "c5-1", "one");
    put(store, "c5-2", "two");
    store.remove("c5-1");
    store.close();
    store.open("client", "tcp://127.0.0.1:1883");
    CHECK(sorted_keys(store) == std::vector<std::string>{"c5-2"});
    put(store, "s5-1", "one, in flight");
    CHECK(restart_keys(dir) == std::vector<std::string>{"c5-2", "s5-1"});
    CHECK(errors == 0);
}

TEST_CASE("inflight store: an append cut short leaves no torn record behind", "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("short") / "inflight";
    InflightStore store(dir, errors);
    store.open("client", "tcp://127.0.0.1:1883");
    put(store, "s5-1", "one");
    const std::uintmax_t size = fs::file_size(dir / "log");
    {
        // A file size limit 100 bytes on: the kernel writes part of the record, then fails.
        auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit old_limit{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
        rlimit limit = old_limit;
        limit.rlim_cur = size + 100;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
        CHECK_THROWS(put(store, "s5-2", std::string(1200, 'x')));
        ::setrlimit(RLIMIT_FSIZE, &old_limit);
        std::signal(SIGXFSZ, old_handler);
    }
    CHECK(errors == 1);
    CHECK_FALSE(store.contains_key("s5-2"));
    CHECK(fs::file_size(dir / "log") == size);
    put(store, "s5-3", "three");
    CHECK(restart(dir) == std::map<std::string, std::string>{{"s5-1", "one"}, {"s5-3", "three"}});
}

TEST_CASE("inflight store: Paho's threads writing at once, compactions included",
          "[daemon][store]") {
    std::atomic<std::uint64_t> errors{0};
    fs::path dir = fresh_dir("threads") / "inflight";
    InflightStore store(dir, errors, 8 * 1024);
    store.open("client", "tcp://127.0.0.1:1883");
    const std::string payload(500, 'p');
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                std::string key = "q5-" + std::to_string(t * 1000 + i);
                put(store, key, payload, key);
                if (store.get(key) != payload + key) ++errors;
                if (i % 3 != 0) store.remove(key);  // every third stays
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(errors == 0);
    auto after = restart(dir);
    CHECK(after.size() == 4 * 100);
    for (const auto& [key, data] : after)
        CHECK(data == payload + key);
}
