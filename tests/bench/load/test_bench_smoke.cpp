// Smoke test of the benchmark tools (not a timed test): the load generator's sink must
// count every message of a short run as received and right, through the broker alone,
// the pass-through and errbridge, against the integration tests' mosquitto fixture.
// Timing figures in the output are ignored; only the correctness counts are checked.
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "fixtures.h"

using namespace errbridge::it;

namespace {

// Runs the load generator to the end and returns its JSON line.
std::string run_loadgen(const TempDir& dir, const Mosquitto& broker, const std::string& name,
                        std::vector<std::string> extra) {
    std::vector<std::string> argv = {LOADGEN_BINARY,
                                     "--catalog",
                                     (dir.path() / "catalog.jsonl").string(),
                                     "--port",
                                     std::to_string(broker.port()),
                                     "--qos",
                                     "1",
                                     "--count",
                                     "200",
                                     "--warmup",
                                     "20",
                                     "--window",
                                     "50",
                                     "--timeout",
                                     "20",
                                     "--drain",
                                     "10"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Process loadgen(argv, dir.path() / (name + ".out"));
    auto status = loadgen.wait(60s);
    INFO(loadgen.log());
    REQUIRE(status == 0);
    return loadgen.log();
}

long field(const std::string& json, const std::string& name) {
    std::smatch m;
    REQUIRE(std::regex_search(json, m, std::regex("\"" + name + "\":([0-9]+)")));
    return std::stol(m[1]);
}

void check_counts(const std::string& out) {
    INFO(out);
    CHECK(field(out, "sent") == 200);
    CHECK(field(out, "received") == 200);
    CHECK(field(out, "lost") == 0);
    CHECK(field(out, "duplicated") == 0);
    CHECK(field(out, "wrong") == 0);
}

void export_catalog(const TempDir& dir) {
    Process export_(
        std::vector<std::string>{"/bin/sh", "-c",
                                 std::string(ERRBRIDGE_BINARY) + " catalog --format json > " +
                                     (dir.path() / "catalog.jsonl").string()},
        dir.path() / "export.log");
    REQUIRE(export_.wait(30s) == 0);
}

}  // namespace

TEST_CASE("loadgen: the broker alone delivers every message unchanged", "[bench]") {
    TempDir dir("bench-broker");
    Mosquitto broker(dir.path());
    export_catalog(dir);
    check_counts(run_loadgen(dir, broker, "broker", {"--direct"}));
}

TEST_CASE("loadgen: the pass-through republishes every message unchanged", "[bench]") {
    TempDir dir("bench-pass");
    Mosquitto broker(dir.path());
    export_catalog(dir);
    Process pass(std::vector<std::string>{PASSTHROUGH_BINARY, "--uri", broker.uri(), "--sub",
                                          "/sys/+/+/thing/#", "--sub", "/neuron/+/#", "--sub",
                                          "bridge/camera/+/http/+/+/response", "--qos", "1",
                                          "--persistence", "memory", "--client-id", "pass-smoke"},
                 dir.path() / "pass.log");
    REQUIRE(eventually([&] { return pass.log().find("running") != std::string::npos; }, 10s));
    check_counts(run_loadgen(dir, broker, "pass", {"--expect", "raw"}));
}

TEST_CASE("loadgen: errbridge turns every message into the right event", "[bench]") {
    TempDir dir("bench-errbridge");
    Mosquitto broker(dir.path());
    export_catalog(dir);
    Daemon daemon(dir.path(), "site = \"bench\"\n[broker]\nuri = \"" + broker.uri() +
                                  "\"\nstate_dir = \"" + (dir.path() / "state").string() +
                                  "\"\n[suppress]\nwindow_s = 0\n[metrics]\nlisten = \"\"\n");
    REQUIRE(daemon.wait_subscribed());
    std::this_thread::sleep_for(300ms);  // SUBSCRIBEs sent, not yet acknowledged
    check_counts(run_loadgen(dir, broker, "errbridge", {"--expect", "events"}));
}
