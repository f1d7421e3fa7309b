// SIGHUP, the pure part (SPEC §3): what changed between the running config and a new one,
// which changed keys wait for a restart, and what the daemon runs meanwhile.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "errbridge/config/load.h"
#include "errbridge/config/reload.h"
#include "test_env.h"

namespace config = errbridge::config;
using Strings = std::vector<std::string>;

namespace {

config::LoadedConfig load(const std::string& toml) {
    return config::load_config_text(toml, "errbridge.toml", errbridge::test::environment());
}

const std::string base = R"(site = "lab"
[broker]
uri = "tcp://127.0.0.1:1883"
[[route]]
name = "a"
vendor = "neuron"
topic = "plant/a/{node}"
[[route]]
name = "b"
vendor = "neuron"
topic = "plant/b/{node}"
)";

}  // namespace

TEST_CASE("reload: the same config changes nothing", "[reload]") {
    auto running = load(base);
    auto plan = config::prepare_reload(running, load(base));
    CHECK_FALSE(plan.changes.any());
    CHECK(plan.next.subscriptions.subscriptions.size() == 2);
}

TEST_CASE("reload: routes added, removed and changed, and their filters", "[reload]") {
    auto running = load(base);
    auto plan = config::prepare_reload(running, load(R"(site = "lab"
[broker]
uri = "tcp://127.0.0.1:1883"
[[route]]
name = "new"
vendor = "aliyun"
topic = "/ext/error/{product_key}/{device_name}"
[[route]]
name = "b"
vendor = "neuron"
topic = "plant/b/{node}"
tag = "../label"
)"));
    const auto& c = plan.changes;
    CHECK(c.routes_added == Strings{"new"});
    CHECK(c.routes_removed == Strings{"a"});
    CHECK(c.routes_changed == Strings{"b"});  // same topic, another tag pointer
    CHECK(c.filters_added == Strings{"/ext/error/+/+"});
    CHECK(c.filters_removed == Strings{"plant/a/+"});
    CHECK(c.keys_changed.empty());
    CHECK(c.restart_keys.empty());
    // The kept filter keeps its identifier: no new SUBSCRIBE for it.
    CHECK(plan.next.subscriptions.subscriptions[1].filter == "plant/b/+");
    CHECK(plan.next.subscriptions.subscriptions[1].identifier ==
          running.subscriptions.subscriptions[1].identifier);
}

TEST_CASE("reload: applied keys and keys that need a restart", "[reload]") {
    auto running = load(base);
    auto plan = config::prepare_reload(running, load(R"(site = "lab"
lang = "zh"
[broker]
uri = "tcp://10.0.0.1:1883"
keepalive_s = 10
persistence = "memory"
state_dir = "/tmp/elsewhere"
[output]
topic = "alerts/{site}/{vendor}/{device}"
[suppress]
window_s = 5
[metrics]
listen = "127.0.0.1:9999"
[[route]]
name = "a"
vendor = "neuron"
topic = "plant/a/{node}"
[[route]]
name = "b"
vendor = "neuron"
topic = "plant/b/{node}"
)"));
    const auto& c = plan.changes;
    CHECK(c.keys_changed == Strings{"lang", "output.topic", "suppress.window_s"});
    CHECK(c.restart_keys == Strings{"broker.uri", "broker.keepalive_s", "broker.state_dir",
                                    "broker.persistence", "metrics.listen"});
    CHECK(c.routes_added.empty());
    CHECK(c.routes_changed.empty());
    // What runs: the new output and window, the old broker and listener.
    CHECK(plan.next.config.output.topic == "alerts/{site}/{vendor}/{device}");
    CHECK(plan.next.config.suppress.window_s == 5);
    CHECK(plan.next.config.broker.uri == "tcp://127.0.0.1:1883");
    CHECK(plan.next.config.broker.keepalive_s == 30);
    CHECK(plan.next.config.broker.persistence == "file");
    CHECK(plan.next.config.broker.state_dir == running.config.broker.state_dir);
    CHECK(plan.next.config.metrics.listen == "127.0.0.1:9102");
}

TEST_CASE("reload: a new site changes the derived client id, which needs a restart", "[reload]") {
    auto running = load(base);
    std::string other = base;
    other.replace(other.find("\"lab\""), 5, "\"lab-2\"");
    auto plan = config::prepare_reload(running, load(other));
    CHECK(plan.changes.keys_changed == Strings{"site"});
    CHECK(plan.changes.restart_keys == Strings{"broker.client_id"});
    CHECK(plan.next.config.site == "lab-2");
    CHECK(plan.next.config.broker.client_id == "errbridge-lab");
}

TEST_CASE("reload: a new mqtt_version waits for a restart; the plan fits the running one",
          "[reload]") {
    // Overlapping filters: identifiers on MQTT 5, one widened filter on 3.1.1.
    const std::string routes = R"([[route]]
vendor = "neuron"
topic = "a/+/b"
[[route]]
vendor = "neuron"
topic = "a/x/{node}/#"
)";
    auto running = load("site = \"lab\"\n" + routes);
    REQUIRE(running.subscriptions.subscriptions.size() == 2);
    auto plan = config::prepare_reload(
        running, load("site = \"lab\"\n[broker]\nmqtt_version = 3\n" + routes));
    CHECK(plan.changes.restart_keys == Strings{"broker.mqtt_version"});
    CHECK(plan.next.config.broker.mqtt_version == 5);
    REQUIRE(plan.next.subscriptions.subscriptions.size() == 2);  // not widened
    CHECK(plan.next.subscriptions.subscriptions[0].identifier ==
          running.subscriptions.subscriptions[0].identifier);
    CHECK(plan.changes.filters_added.empty());
    CHECK(plan.changes.filters_removed.empty());
}

TEST_CASE("reload: catalog paths are reloaded settings", "[reload]") {
    auto running = load(base);
    auto plan = config::prepare_reload(running, load(base + "[catalog]\npaths = []\n"));
    CHECK_FALSE(plan.changes.any());  // the same (empty) list
}
