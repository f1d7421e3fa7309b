// A bare pass-through bridge on errbridge's own MQTT stack (issue 8, SPEC §13): the limit
// for any bridge on Paho C++ 1.2 / Paho C 1.3.12. Same client set-up as errbridge's session
// (async_client with file or memory persistence, MQTT 5, persistent session, message
// callback that publishes before it returns, TCP_NODELAY on the broker socket after the
// connect), but no decoding: every message is republished unchanged on
// <prefix>/<topic without its leading '/'>, so the load generator's sink can check it.
//
// usage: passthrough --uri tcp://127.0.0.1:1883 --sub FILTER [--sub FILTER]...
//          [--qos 0|1] [--persistence file|memory] [--state-dir DIR] [--client-id ID]
//          [--prefix errors/raw] [--mqtt 5|3] [--nodelay 1|0]
// Logs "running" to stderr once subscribed; SIGTERM/SIGINT disconnect and exit 0.

#include <mqtt/async_client.h>
#include <signal.h>

#include <climits>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "errbridge/daemon/tcp_nodelay.h"

namespace {

struct Options {
    std::string uri = "tcp://127.0.0.1:1883";
    std::vector<std::string> subs;
    int qos = 1;
    std::string persistence = "file";
    std::string state_dir = "/tmp/passthrough-state";
    std::string client_id = "passthrough";
    std::string prefix = "errors/raw";
    int mqtt = 5;
    bool nodelay = true;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "passthrough: " << why
              << "\nusage: passthrough --uri URI --sub FILTER... [--qos 0|1] "
                 "[--persistence file|memory] [--state-dir DIR] [--client-id ID] "
                 "[--prefix P] [--mqtt 5|3] [--nodelay 1|0]\n";
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value for " + a);
            return argv[++i];
        };
        if (a == "--uri") {
            o.uri = value();
        } else if (a == "--sub") {
            o.subs.push_back(value());
        } else if (a == "--qos") {
            o.qos = std::stoi(value());
        } else if (a == "--persistence") {
            o.persistence = value();
        } else if (a == "--state-dir") {
            o.state_dir = value();
        } else if (a == "--client-id") {
            o.client_id = value();
        } else if (a == "--prefix") {
            o.prefix = value();
        } else if (a == "--mqtt") {
            o.mqtt = std::stoi(value());
        } else if (a == "--nodelay") {
            o.nodelay = value() != "0";
        } else {
            usage("unknown option " + a);
        }
    }
    if (o.subs.empty()) usage("at least one --sub");
    if (o.persistence != "file" && o.persistence != "memory")
        usage("--persistence takes file or memory");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before Paho starts its threads

    const bool v5 = o.mqtt == 5;
    mqtt::create_options create;
    create.set_mqtt_verison(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    create.set_send_while_disconnected(true);
    create.set_max_buffered_messages(100000);
    create.set_delete_oldest_messages(false);
    create.set_restore_messages(true);
    create.set_persist_qos0(false);
    std::unique_ptr<mqtt::async_client> client;
    if (o.persistence == "file") {
        client = std::make_unique<mqtt::async_client>(o.uri, o.client_id, create, o.state_dir);
    } else {
        client = std::make_unique<mqtt::async_client>(
            o.uri, o.client_id, create, static_cast<mqtt::iclient_persistence*>(nullptr));
    }

    mqtt::connect_options connect;
    connect.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (v5) {
        connect.set_clean_start(false);
        connect.set_properties({mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL, 86400)});
    } else {
        connect.set_clean_session(false);
    }
    connect.set_keep_alive_interval(30);
    connect.set_connect_timeout(10);

    unsigned long long errors = 0;
    std::string topic;  // reused: the callback runs on one Paho thread
    client->set_message_callback([&](mqtt::const_message_ptr m) {
        try {
            const std::string& in = m->get_topic();
            topic.assign(o.prefix);
            if (in.empty() || in.front() != '/') topic += '/';
            topic += in;
            const auto& payload = m->get_payload_ref();
            client->publish(
                mqtt::message::create(topic, payload.data(), payload.size(), o.qos, false));
        } catch (const std::exception& e) {
            if (errors++ < 5) std::cerr << "passthrough: publish failed: " << e.what() << "\n";
        }
    });

    try {
        client->connect(connect)->wait();
        if (o.nodelay) {
            auto endpoint = errbridge::daemon::parse_broker_endpoint(o.uri);
            auto result = endpoint ? errbridge::daemon::set_nodelay_towards(*endpoint)
                                   : errbridge::daemon::NodelayResult{0, "bad uri"};
            if (result.sockets_set == 0)
                std::cerr << "passthrough: TCP_NODELAY not set: " << result.problem << "\n";
        }
        for (const auto& filter : o.subs) {
            mqtt::subscribe_options options;
            if (v5) options = mqtt::subscribe_options(true, false);
            client->subscribe(filter, 1, options)->wait();
        }
    } catch (const mqtt::exception& e) {
        std::cerr << "passthrough: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "passthrough: running persistence=" << o.persistence << " qos=" << o.qos
              << " nodelay=" << (o.nodelay ? 1 : 0) << "\n";

    int sig = 0;
    sigwait(&stop, &sig);
    try {
        client->disable_callbacks();
        client->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
    }
    std::cerr << "passthrough: stopped, publish errors=" << errors << "\n";
    return 0;
}
