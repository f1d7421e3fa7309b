#pragma once

// The MQTT session (SPEC §10): Paho's async client, connect and reconnect with backoff,
// subscriptions, the stale-connection probe, and delivery — decode and publish inside
// Paho's message callback, before it returns, so the broker gets our PUBACK only after
// the events are handed to Paho (and, with file persistence, written to disk).
//
// Threads: Paho calls on_message / delivery_complete / connection_lost on its own thread;
// everything else runs on the Asio loop. Paho's thread only touches atomics, the decoder
// snapshot (immutable, swapped whole) and its own DecodeResult.

#include <mqtt/async_client.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "errbridge/core/decode.h"
#include "errbridge/daemon/backoff.h"
#include "errbridge/daemon/counters.h"
#include "errbridge/daemon/inflight_store.h"
#include "errbridge/daemon/log.h"
#include "errbridge/daemon/spillway.h"
#include "errbridge/daemon/state_dir.h"
#include "errbridge/daemon/tcp_nodelay.h"
#include "errbridge/daemon/tls_check.h"
#include "suppressor.h"

namespace errbridge::daemon {

class Session : private mqtt::callback {
  public:
    Session(boost::asio::io_context& io, std::shared_ptr<const config::LoadedConfig> loaded,
            const config::Environment& env, const StateDir& state,
            std::optional<std::string> password, Logger& log, Counters& counters);
    ~Session() override;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Starts connecting in the background: a gateway often boots before its uplink, so
    // nothing here waits for the broker.
    void start();
    // Stops timers, waits at most `grace` for in-flight publishes, disconnects. Never
    // unsubscribes: that would delete the session's queue. Call after the loop stopped.
    void stop(std::chrono::milliseconds grace);

    // SIGHUP, on the loop: runs `next` (prepared by config::prepare_reload: same [broker]).
    // Swaps the decoder whole, applies [suppress], and changes only the subscriptions that
    // changed (now when connected, else at the next connect). Throws before changing
    // anything when `next` cannot be compiled. Defined in session_reload.cpp.
    void apply(std::shared_ptr<const config::LoadedConfig> next);

    bool is_connected() const { return connected_.load(); }
    // Called on the loop's thread after is_connected() changed (sd_notify STATUS).
    void set_connection_observer(std::function<void()> observer) {
        connection_observer_ = std::move(observer);
    }
    // The filters this configuration subscribes to, as sent to the broker.
    const std::vector<std::string>& filters() const { return filters_; }

  private:
    class ActionListener;

    // Paho's thread.
    void on_message(const mqtt::const_message_ptr& message);
    void connection_lost(const std::string& cause) override;
    void delivery_complete(mqtt::delivery_token_ptr token) override;
    void publish_results(const core::Origin& origin);
    // Summaries of suppressed repeats (SPEC §8), from Paho's thread (eviction) or the loop
    // (window end, stop); `scratch` decodes first events again, one per thread. Defined in
    // session_summaries.cpp.
    void publish_summaries(std::vector<core::Summary>& due, core::DecodeResult& scratch);
    void note_activity();
    bool publish(const core::Publication& p, std::string_view payload, int qos, bool retain);
    bool enqueue(const EventView& event);
    bool hand_to_paho(const EventView& event, bool counted);
    void on_publish_failed(const mqtt::token& token);
    // The event a message Paho held carries (topic, payload, QoS and user properties).
    static SpilledEvent event_of(const mqtt::message& message);
    void make_client();
    void rebuild_client();
    mqtt::message_ptr make_message(const EventView& event) const;
    void request_drain();
    void recount_buffered();
    std::size_t spill_size_hint();
    void warn_throttled(const std::string& key, std::string_view message,
                        std::initializer_list<LogField> fields);

    // The loop's thread.
    void connect();
    void on_connected(bool session_present);
    // `paho_failure`: Paho gave up before the broker answered (a failed TLS handshake is
    // reported so too): on a TLS uri, tls_handshake_problem() then says why.
    void on_connect_failed(const std::string& why, bool paho_failure = false);
    void report_connect_failure(const std::string& why);
    void schedule_reconnect(const std::string& why);
    void subscribe_all();
    // session_reload.cpp: the filters of a plan as sent (with $share/<group>/ and the probe
    // last), one SUBSCRIBE, and the difference between what the broker has and what the
    // running config needs.
    std::vector<std::string> filters_for(const config::SubscriptionPlan& plan) const;
    // `round`: the subscribe_all round as the token's user context, null for reload's.
    void subscribe_one(const std::string& filter, int identifier, void* round = nullptr);
    // A SUBACK (or a failure) for a filter of subscribe_all's `round`: "subscribed" is
    // logged when the round's last one arrives.
    void on_subscribe_answered(std::uintptr_t round, bool granted);
    void sync_subscriptions();
    void unsubscribe_stale();
    void probe_tick();
    void drain_spill();
    void force_reconnect(const std::string& why);

    boost::asio::io_context& io_;
    // [broker] needs a restart (SPEC §3), so the session keeps the config it started with;
    // the decoder (routes, output, catalog) is swapped whole by reload.
    std::shared_ptr<const config::LoadedConfig> started_with_;
    const config::Config& config_;
    std::atomic<std::shared_ptr<const core::Decoder>> decoder_;
    const StateDir& state_;
    Logger& log_;
    Counters& counters_;
    std::string probe_topic_;
    std::vector<std::string> filters_;  // of the running config, the probe last
    // What the broker session holds, as (filter, identifier), as last sent: reload and a
    // reconnect with a kept session subscribe and unsubscribe the difference only.
    std::vector<std::pair<std::string, int>> subscribed_;
    std::optional<BrokerEndpoint> endpoint_;
    std::optional<TlsFiles> tls_files_;  // set on a TLS uri
    std::thread tls_check_;              // a running tls_handshake_problem(), joined by the loop
    mqtt::connect_options connect_options_;
    std::unique_ptr<InflightStore> inflight_;           // file persistence; outlives client_
    std::unique_ptr<ActionListener> publish_listener_;  // Paho's tokens point at it: ditto
    std::unique_ptr<mqtt::async_client> client_;
    std::unique_ptr<ActionListener> connect_listener_;
    std::unique_ptr<ActionListener> subscribe_listener_;
    std::unique_ptr<ActionListener> disconnect_listener_;

    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer probe_timer_;
    Backoff backoff_;
    bool stopping_ = false;
    bool connecting_ = false;
    bool ever_connected_ = false;
    std::uintptr_t subscribe_round_ = 0;
    std::size_t awaiting_subacks_ = 0;
    std::size_t refused_in_round_ = 0;
    bool persist_failing_ = false;
    std::uint64_t persist_errors_seen_ = 0;
    // Events Paho held unacknowledged when a connect started. Paho C drops them without a
    // callback when the broker answers with no session (MQTTAsync_cleanSession on
    // sessionPresent 0: a broker that lost its state, or an expired session); on_connected
    // hands those over again, so a broker crash costs duplicates, not events.
    std::vector<mqtt::const_message_ptr> unacknowledged_at_connect_;

    std::atomic<bool> connected_{false};
    // The probe: sequence number of the last probe sent and of the last one seen back.
    std::atomic<std::uint64_t> probe_sent_{0};
    std::atomic<std::uint64_t> probe_seen_{0};
    std::chrono::steady_clock::time_point probe_sent_at_;
    // When a message or an acknowledgement last arrived (steady_clock ticks).
    std::atomic<std::chrono::steady_clock::rep> last_activity_{0};

    std::function<void()> connection_observer_;  // the loop's thread only

    core::DecodeResult result_;           // Paho's thread only
    std::vector<core::Summary> due_;      // Paho's thread only: summaries eviction yielded
    core::DecodeResult summary_scratch_;  // the loop's (and stop's, after the loop)

    // Events for Paho beyond `paho_high_water` wait in the spillway (see spillway.h).
    static constexpr std::int64_t paho_high_water = 1000;
    std::mutex spill_mutex_;
    Spillway spill_;
    std::atomic<std::int64_t> in_paho_{0};  // handed to Paho, not yet acknowledged
    std::atomic<bool> drain_posted_{false};
    // A publish failed on the wire: rebuild the client before the next connect (see
    // rebuild_client). `rebuilding_` is set while the old client is torn down.
    std::atomic<bool> poisoned_{false};
    std::atomic<bool> rebuilding_{false};
    std::atomic<bool> closing_{false};

    Suppressor suppressor_;
    LogThrottle throttle_{5, std::chrono::seconds(60)};
};

}  // namespace errbridge::daemon
