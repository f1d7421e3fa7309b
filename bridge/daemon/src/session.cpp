#include "session.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <climits>
#include <functional>
#include <random>
#include <thread>
#include <unordered_set>

#include "errbridge/config/load.h"
#include "paho_retry.h"

namespace errbridge::daemon {

namespace asio = boost::asio;

class Session::ActionListener : public mqtt::iaction_listener {
  public:
    using Handler = std::function<void(const mqtt::token&)>;
    ActionListener(Handler success, Handler failure)
        : success_(std::move(success)), failure_(std::move(failure)) {}
    void on_success(const mqtt::token& token) override { success_(token); }
    void on_failure(const mqtt::token& token) override { failure_(token); }

  private:
    Handler success_;
    Handler failure_;
};

namespace {

constexpr const char* component = "session";
constexpr int max_in_flight = 1000;

bool is_tls(std::string_view uri) {
    return uri.rfind("ssl://", 0) == 0 || uri.rfind("mqtts://", 0) == 0 ||
           uri.rfind("wss://", 0) == 0;
}

std::string token_error(const mqtt::token& token) {
    const int rc = token.get_return_code();
    // A refused MQTT 5 CONNECT comes back with its reason code as the return code, which
    // MQTTAsync_strerror does not know ("Unknown error code 135"); MQTT 3.1.1's CONNACK
    // codes 1-5 likewise.
    if (rc >= 0x80)
        return mqtt::exception::reason_code_str(rc) + " (reason code " + std::to_string(rc) + ")";
    static constexpr const char* connack[] = {"",
                                              "unacceptable protocol version",
                                              "identifier rejected",
                                              "server unavailable",
                                              "bad user name or password",
                                              "not authorized"};
    if (rc >= 1 && rc <= 5)
        return std::string("connection refused: ") + connack[rc] + " (" + std::to_string(rc) + ")";
    std::string why = mqtt::exception::error_str(rc);
    if (token.get_reason_code() >= 0x80) {
        why += " (reason: " + mqtt::exception::reason_code_str(token.get_reason_code()) + ")";
    }
    return why;
}

std::string first_topic(const mqtt::token& token) {
    auto topics = token.get_topics();
    return topics && topics->size() > 0 ? (*topics)[0] : std::string("?");
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

Session::Session(asio::io_context& io, std::shared_ptr<const config::LoadedConfig> loaded,
                 const config::Environment& env, const StateDir& state,
                 std::optional<std::string> password, Logger& log, Counters& counters)
    : io_(io),
      started_with_(loaded),
      config_(started_with_->config),
      decoder_(std::make_shared<const core::Decoder>(loaded)),
      state_(state),
      log_(log),
      counters_(counters),
      probe_topic_(config_.probe_topic()),
      endpoint_(parse_broker_endpoint(config_.broker.uri)),
      reconnect_timer_(io),
      probe_timer_(io),
      backoff_(config_.broker.reconnect_min_s, config_.broker.reconnect_max_s,
               std::random_device{}()),
      spill_(config_.broker.persistence == "file"
                 ? std::optional<std::filesystem::path>(state.path() / "spill")
                 : std::nullopt,
             counters.persist_errors),
      suppressor_(io, config_.suppress, counters, [this](std::vector<core::Summary>& due) {
          publish_summaries(due, summary_scratch_);
      }) {
    const config::BrokerConfig& b = config_.broker;
    const bool v5 = b.mqtt_version == 5;
    if (std::size_t waiting = spill_.load()) {
        counters_.buffered_events += static_cast<std::int64_t>(waiting);
        counters_.buffered_bytes += spill_.bytes();
        log_.info(component, "events from the previous run wait for the broker",
                  {{"events", std::to_string(waiting)}});
    }
    filters_ = filters_for(started_with_->subscriptions);

    if (b.persistence == "file") {
        inflight_ =
            std::make_unique<InflightStore>(state_.path() / "inflight", counters_.persist_errors);
    }
    make_client();

    connect_options_.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    const bool persistent = b.session_expiry_s > 0;
    if (v5) {
        connect_options_.set_clean_start(!persistent);
        connect_options_.set_properties({mqtt::property(
            mqtt::property::SESSION_EXPIRY_INTERVAL,
            static_cast<std::int32_t>(std::min<std::int64_t>(b.session_expiry_s, UINT32_MAX)))});
    } else {
        connect_options_.set_clean_session(!persistent);
    }
    connect_options_.set_keep_alive_interval(b.keepalive_s);
    connect_options_.set_connect_timeout(10);
    connect_options_.set_automatic_reconnect(false);  // ours has jitter and counts
    // Events beyond this wait in Paho's queue (persisted all the same) instead of on the
    // wire: plenty for a broker on the LAN, and after a crash or reconnect at most this
    // many are resent, most of them duplicates the broker already has.
    connect_options_.set_max_inflight(max_in_flight);
    // Paho resends what is still unacknowledged after this (see paho_retry.h). Long, so a
    // broker slow to acknowledge a backlog is not sent the backlog twice.
    set_in_session_retry(connect_options_,
                         static_cast<int>(std::max<std::int64_t>(3 * b.keepalive_s, 30)));
    if (!b.username.empty()) connect_options_.set_user_name(b.username);
    if (password) connect_options_.set_password(*password);
    if (is_tls(b.uri)) {
        mqtt::ssl_options ssl;
        if (!b.ca_file.empty()) ssl.set_trust_store(config::credential_path(env, b.ca_file));
        if (!b.cert_file.empty()) ssl.set_key_store(config::credential_path(env, b.cert_file));
        if (!b.key_file.empty()) ssl.set_private_key(config::credential_path(env, b.key_file));
        // Paho leaves both off by default: a gateway must not talk to an impostor.
        ssl.set_enable_server_cert_auth(true);
        ssl.set_verify(true);
        // No set_error_handler: Paho C++ 1.2's ssl_options keeps `this` of the object the
        // handler was set on as the callback's context, and copying the options into the
        // client does not update it, so OpenSSL's first error called through a dangling
        // pointer (the daemon died with SIGSEGV on a broker certificate from an unknown CA).
        // Without it Paho reports a refused handshake as a bare "Failure"; on_connect_failed
        // then asks tls_handshake_problem() why.
        connect_options_.set_ssl(std::move(ssl));
        auto file = [&](const std::string& name) {
            return name.empty() ? name : config::credential_path(env, name);
        };
        tls_files_ = TlsFiles{file(b.ca_file), file(b.cert_file), file(b.key_file)};
    }

    // Paho C 1.3.11 (Debian 12's build) resends a QoS 1 publish whose first write hit a
    // dead socket from freed memory after the reconnect: the broker gets a damaged copy.
    // Paho reports that write as a failed publish, so we hand the event over again and a
    // whole copy follows the damaged one (seen in the outage test: a 1,161-byte event whose
    // first 20 bytes were heap pointers).
    publish_listener_ = std::make_unique<ActionListener>(
        [](const mqtt::token&) {}, [this](const mqtt::token& token) { on_publish_failed(token); });
    connect_listener_ = std::make_unique<ActionListener>(
        [this](const mqtt::token& token) {
            bool present = token.get_connect_response().is_session_present();
            asio::post(io_, [this, present] { on_connected(present); });
        },
        [this](const mqtt::token& token) {
            std::string why = token_error(token);
            const bool paho_failure = token.get_return_code() < 0;
            asio::post(io_, [this, why, paho_failure] { on_connect_failed(why, paho_failure); });
        });
    // The token's user context is the subscribe round (subscribe_all) it answers, or 0.
    auto round_of = [](const mqtt::token& token) {
        return reinterpret_cast<std::uintptr_t>(token.get_user_context());
    };
    subscribe_listener_ = std::make_unique<ActionListener>(
        [this, round_of](const mqtt::token& token) {
            // MQTT 5 reports a refused filter as a reason code >= 0x80 in the SUBACK.
            auto codes = token.get_subscribe_response().get_reason_codes();
            bool refused = false;
            for (auto code : codes) {
                if (code >= 0x80) {
                    refused = true;
                    log_.error(component, "the broker refused a subscription",
                               {{"filter", first_topic(token)},
                                {"reason", mqtt::exception::reason_code_str(code)}});
                }
            }
            const std::uintptr_t round = round_of(token);
            asio::post(io_, [this, round, refused] { on_subscribe_answered(round, !refused); });
        },
        [this, round_of](const mqtt::token& token) {
            log_.error(component, "subscribe failed",
                       {{"filter", first_topic(token)}, {"reason", token_error(token)}});
            const std::uintptr_t round = round_of(token);
            asio::post(io_, [this, round] { on_subscribe_answered(round, false); });
        });
    disconnect_listener_ = std::make_unique<ActionListener>(
        [this](const mqtt::token&) { asio::post(io_, [this] { schedule_reconnect("stale"); }); },
        [this](const mqtt::token&) { asio::post(io_, [this] { schedule_reconnect("stale"); }); });
}

void Session::make_client() {
    const config::BrokerConfig& b = config_.broker;
    mqtt::create_options create;
    create.set_mqtt_verison(b.mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    create.set_send_while_disconnected(true);
    create.set_max_buffered_messages(
        static_cast<int>(std::min<std::int64_t>(b.max_buffered, INT_MAX)));
    create.set_delete_oldest_messages(false);
    create.set_restore_messages(true);
    create.set_persist_qos0(false);
    if (inflight_) {
        client_ = std::make_unique<mqtt::async_client>(b.uri, b.client_id, create, inflight_.get());
    } else {
        client_ = std::make_unique<mqtt::async_client>(
            b.uri, b.client_id, create, static_cast<mqtt::iclient_persistence*>(nullptr));
    }
    client_->set_message_callback([this](mqtt::const_message_ptr m) { on_message(m); });
    client_->set_callback(*this);  // connection_lost and delivery_complete
}

void Session::rebuild_client() {
    // Paho C 1.3.11 keeps a publish whose write failed on a dead socket in its in-flight
    // list with its topic and payload already freed, and resends that after the reconnect:
    // a damaged event, or a malformed packet the broker answers by disconnecting us, again
    // on every reconnect (seen in the outage test). Its store on disk holds the bytes as
    // they were written, so a new client restored from it resends whole copies.
    const std::int64_t held = in_paho_.load();
    log_.warning(component,
                 "a publish failed mid-write: rebuilding the MQTT client from its store so the "
                 "broker gets whole copies (Paho C 1.3.11 would resend it from freed memory)",
                 {{"in_flight", std::to_string(held)},
                  {"store", inflight_ ? "file" : "memory: events in flight are lost"}});
    rebuilding_ = true;
    try {
        client_->disable_callbacks();
    } catch (const mqtt::exception&) {
    }
    client_.reset();
    rebuilding_ = false;
    make_client();
    // The new client restores what it holds from disk without telling us: count afresh.
    std::lock_guard lock(spill_mutex_);
    in_paho_ = 0;
    counters_.buffered_events = static_cast<std::int64_t>(spill_.size());
    counters_.buffered_bytes = spill_.bytes();
}

Session::~Session() {
    // Tear the client down while every member is alive: Paho fails what it still holds,
    // and those failures are not new work (they stay in its store, or are lost in memory
    // mode, as the stop log said).
    closing_ = true;
    if (tls_check_.joinable()) tls_check_.join();
    try {
        client_->disable_callbacks();
    } catch (...) {
    }
    client_.reset();
}

void Session::start() {
    suppressor_.start();
    connect();
}

// ---- Paho's thread --------------------------------------------------------------------

void Session::on_message(const mqtt::const_message_ptr& message) {
    note_activity();
    try {
        const std::string& topic = message->get_topic();
        if (topic == probe_topic_) {
            std::uint64_t seq = 0;
            for (char c : message->get_payload_str()) {
                if (c >= '0' && c <= '9') seq = seq * 10 + static_cast<std::uint64_t>(c - '0');
            }
            probe_seen_.store(seq);
            return;
        }
        std::shared_ptr<const core::Decoder> decoder = decoder_.load();
        const auto& payload = message->get_payload_ref();
        const core::Origin origin{decoder, topic, std::string_view(payload.data(), payload.size()),
                                  now_ms()};
        const auto decode_start = std::chrono::steady_clock::now();
        decoder->decode(topic, origin.payload, origin.now_ms, result_);
        counters_.decode_seconds.observe(std::chrono::steady_clock::now() - decode_start);
        if (result_.status == core::DecodeResult::Status::unrouted) {
            ++counters_.unrouted;
            if (log_.enabled(LogLevel::debug))
                log_.debug(component, "unrouted", {{"topic", topic}});
            return;
        }
        const config::LoadedConfig& loaded = decoder->config();
        std::size_t route = *result_.route;
        // MQTT 5: overlapping filters deliver one copy per subscription; handle the copy
        // of this route's own subscription only.
        const auto& props = message->get_properties();
        std::size_t ids = props.count(mqtt::property::SUBSCRIPTION_IDENTIFIER);
        bool handled = ids == 0 && loaded.subscriptions.handles(route, 0);
        bool known = false;
        for (std::size_t i = 0; i < ids && !handled; ++i) {
            int id = mqtt::get<int>(props, mqtt::property::SUBSCRIPTION_IDENTIFIER, i);
            handled = loaded.subscriptions.handles(route, id);
            known = known || loaded.subscriptions.knows(id);
        }
        if (!handled && known) return;  // another copy is this route's (see knows())
        const std::string& route_name = loaded.config.routes[route].name;
        counters_.messages_received.add(route_name);
        switch (result_.status) {
            case core::DecodeResult::Status::empty:
                ++counters_.empty_payloads;
                return;
            case core::DecodeResult::Status::no_code:
                counters_.no_code.add(route_name);
                return;
            case core::DecodeResult::Status::dead_letter: {
                std::string_view reason = core::to_string(*result_.reason);
                counters_.dead_letters.add(reason);
                warn_throttled("dead_letter:" + std::string(reason), "dead letter",
                               {{"route", route_name},
                                {"topic", topic},
                                {"reason", std::string(reason)},
                                {"detail", result_.detail}});
                break;
            }
            default:
                break;
        }
        publish_results(origin);
    } catch (const std::exception& e) {
        ++counters_.handler_errors;
        warn_throttled("handler", "message handling failed",
                       {{"topic", message->get_topic()}, {"error", e.what()}});
    }
}

void Session::publish_results(const core::Origin& origin) {
    const config::OutputConfig& out = origin.decoder->config().config.output;
    for (std::size_t i = 0; i < result_.count; ++i) {
        const core::Publication& p = result_.publications[i];
        if (suppressor_.suppress(origin, i, p, result_.payload(p), due_)) continue;
        if (!publish(p, result_.payload(p), out.qos, out.retain)) continue;
        if (p.kind == core::Publication::Kind::dead_letter) continue;
        counters_.events_published.add(p.vendor, p.category);
        if (!p.known) counters_.unknown_codes.add(p.vendor);
    }
    // Windows this message's keys evicted; result_ is free again to decode their first events.
    if (!due_.empty()) publish_summaries(due_, result_);
}

mqtt::message_ptr Session::make_message(const EventView& e) const {
    // Paho C++ copies every text into the message (its properties own C strings), so this
    // is where the event is copied, once.
    mqtt::properties props;
    if (config_.broker.mqtt_version == 5) {
        auto user = [&](const char* key, std::string_view value) {
            props.add(mqtt::property(mqtt::property::USER_PROPERTY, key, std::string(value)));
        };
        props.add(mqtt::property(mqtt::property::CONTENT_TYPE, "application/json"));
        user("vendor", e.vendor);
        if (e.dead_letter) {
            user("dead_letter", "true");
        } else {
            user("code", e.code);
            user("severity", e.severity);
        }
    }
    return mqtt::message::create(std::string(e.topic), e.payload.data(), e.payload.size(), e.qos,
                                 e.retain, props);
}

bool Session::publish(const core::Publication& p, std::string_view payload, int qos, bool retain) {
    const config::BrokerConfig& b = config_.broker;
    const auto size = static_cast<std::int64_t>(payload.size());
    const bool dead_letter = p.kind == core::Publication::Kind::dead_letter;
    const EventView event{p.topic,
                          payload,
                          qos,
                          retain,
                          p.vendor,
                          dead_letter ? std::string_view() : std::string_view(p.code),
                          dead_letter ? std::string_view() : p.severity,
                          dead_letter};
    if (qos == 0) return hand_to_paho(event, false);

    // Bounded: with the broker away, events wait (in Paho and the spillway, on disk); past
    // the bound they are dropped, counted and logged rather than eating the gateway.
    if (counters_.buffered_events.load() >= b.max_buffered ||
        counters_.buffered_bytes.load() + size > b.max_buffered_bytes) {
        ++counters_.buffer_overflow;
        warn_throttled("overflow", "output buffer full: event dropped",
                       {{"topic", p.topic},
                        {"buffered_events", std::to_string(counters_.buffered_events.load())},
                        {"buffered_bytes", std::to_string(counters_.buffered_bytes.load())}});
        return false;
    }
    return enqueue(event);
}

bool Session::enqueue(const EventView& event) {
    const auto size = static_cast<std::int64_t>(event.payload.size());
    bool direct = false;
    {
        std::lock_guard lock(spill_mutex_);
        if (spill_.empty() && in_paho_.load() < paho_high_water) {
            direct = true;
            ++in_paho_;
        } else {
            try {
                spill_.push(copy_of(event));
            } catch (const std::exception& e) {
                // Cannot keep it ourselves: Paho, with its own store, is the better place.
                warn_throttled("spill", "cannot write to the spillway", {{"error", e.what()}});
                direct = true;
                ++in_paho_;
            }
        }
    }
    ++counters_.buffered_events;
    counters_.buffered_bytes += size;
    if (!direct) {
        request_drain();
        return true;
    }
    if (hand_to_paho(event, true)) return true;
    --in_paho_;
    --counters_.buffered_events;
    counters_.buffered_bytes -= size;
    return false;
}

void Session::on_publish_failed(const mqtt::token& token) {
    const auto* delivery = dynamic_cast<const mqtt::delivery_token*>(&token);
    mqtt::const_message_ptr message = delivery ? delivery->get_message() : nullptr;
    if (!message || closing_) return;
    // A client being rebuilt fails everything it holds; with a file store the new client
    // restores those from disk, so handing them over again would only duplicate them.
    if (rebuilding_ && inflight_) return;
    if (!rebuilding_) poisoned_ = true;
    ++counters_.publish_errors;
    if (--in_paho_ < 0) in_paho_ = 0;
    if (--counters_.buffered_events < 0) counters_.buffered_events = 0;
    counters_.buffered_bytes -= static_cast<std::int64_t>(message->get_payload_ref().size());
    SpilledEvent event = event_of(*message);
    // Handed over from the loop: this runs inside Paho's send path.
    asio::post(io_, [this, event = std::move(event), code = token.get_return_code()]() mutable {
        if (stopping_) return;
        warn_throttled("republish", "publish failed on the wire: handing the event over again",
                       {{"topic", event.topic}, {"code", std::to_string(code)}});
        enqueue(view_of(event));
    });
}

SpilledEvent Session::event_of(const mqtt::message& message) {
    SpilledEvent event;
    event.topic = message.get_topic();
    event.payload = message.get_payload_str();
    event.qos = message.get_qos();
    event.retain = message.is_retained();
    const auto& props = message.get_properties();
    for (std::size_t i = 0; i < props.count(mqtt::property::USER_PROPERTY); ++i) {
        auto [key, value] = mqtt::get<mqtt::string_pair>(props, mqtt::property::USER_PROPERTY, i);
        if (key == "vendor") event.vendor = value;
        if (key == "code") event.code = value;
        if (key == "severity") event.severity = value;
        if (key == "dead_letter") event.dead_letter = value == "true";
    }
    return event;
}

bool Session::hand_to_paho(const EventView& event, bool counted) {
    try {
        if (counted) {
            client_->publish(make_message(event), nullptr, *publish_listener_);
        } else {
            client_->publish(make_message(event));
        }
        return true;
    } catch (const mqtt::exception& e) {
        if (e.get_return_code() == MQTTASYNC_MAX_BUFFERED_MESSAGES) {
            ++counters_.buffer_overflow;
        } else {
            ++counters_.publish_errors;
        }
        warn_throttled("publish", "publish failed: event dropped",
                       {{"topic", std::string(event.topic)},
                        {"error", e.what()},
                        {"qos", counted ? "1" : "0"}});
        return false;
    }
}

void Session::request_drain() {
    if (drain_posted_.exchange(true)) return;
    asio::post(io_, [this] {
        drain_posted_ = false;
        drain_spill();
    });
}

void Session::drain_spill() {
    // Only this thread (the loop's) takes events out of the spillway, so the first one can
    // be handed to Paho outside the lock; it stays first until Paho has it, which keeps
    // new events behind it.
    while (!stopping_) {
        SpilledEvent event;
        {
            std::lock_guard lock(spill_mutex_);
            if (spill_.empty() || in_paho_.load() >= paho_high_water) return;
            event = spill_.front();
        }
        try {
            client_->publish(make_message(view_of(event)), nullptr, *publish_listener_);
        } catch (const mqtt::exception& e) {
            warn_throttled("drain", "cannot hand a waiting event to the MQTT client",
                           {{"error", e.what()}});
            return;  // the next delivery or probe tick tries again
        }
        std::lock_guard lock(spill_mutex_);
        ++in_paho_;
        spill_.pop();
    }
}

void Session::delivery_complete(mqtt::delivery_token_ptr token) {
    note_activity();
    auto message = token ? token->get_message() : nullptr;
    if (!message || message->get_topic() == probe_topic_) return;
    auto size = static_cast<std::int64_t>(message->get_payload_ref().size());
    // Never below zero: a lost session may drop publishes without telling us.
    if (--in_paho_ < 0) in_paho_ = 0;
    if (--counters_.buffered_events < 0) counters_.buffered_events = 0;
    if ((counters_.buffered_bytes -= size) < 0) counters_.buffered_bytes = 0;
    if (spill_size_hint() > 0) request_drain();
}

std::size_t Session::spill_size_hint() {
    std::lock_guard lock(spill_mutex_);
    return spill_.size();
}

void Session::connection_lost(const std::string& cause) {
    asio::post(io_, [this, cause] {
        connected_ = false;
        counters_.broker_connected = 0;
        log_.warning(
            component, "connection lost",
            {{"broker", config_.broker.uri}, {"cause", cause.empty() ? "unknown" : cause}});
        if (connection_observer_) connection_observer_();
        schedule_reconnect("connection lost");
    });
}

void Session::warn_throttled(const std::string& key, std::string_view message,
                             std::initializer_list<LogField> fields) {
    auto decision = throttle_.admit(key, LogThrottle::Clock::now());
    if (decision.dropped_before > 0) {
        log_.warning(component, "similar lines were not logged",
                     {{"kind", key}, {"dropped", std::to_string(decision.dropped_before)}});
    }
    if (decision.log) log_.log(LogLevel::warning, component, message, fields);
}

// ---- the loop's thread ----------------------------------------------------------------

void Session::connect() {
    if (stopping_ || connecting_ || connected_) return;
    unacknowledged_at_connect_.clear();
    for (const auto& token : client_->get_pending_delivery_tokens()) {
        if (auto m = token->get_message(); m && m->get_topic() != probe_topic_)
            unacknowledged_at_connect_.push_back(std::move(m));
    }
    if (poisoned_.exchange(false)) {
        rebuild_client();
        // Without a file store the old client's events come back through on_publish_failed.
        if (!inflight_) unacknowledged_at_connect_.clear();
    }
    connecting_ = true;
    try {
        client_->connect(connect_options_, nullptr, *connect_listener_);
    } catch (const mqtt::exception& e) {
        on_connect_failed(e.what());
    }
}

void Session::on_connect_failed(const std::string& why, bool paho_failure) {
    connecting_ = false;
    if (!paho_failure || !tls_files_ || !endpoint_ || tls_check_.joinable()) {
        report_connect_failure(why);
        return;
    }
    // Paho says only "Failure": repeat the handshake on a thread of its own (it blocks for
    // up to the timeout) and log OpenSSL's reason; the reconnect waits for it.
    tls_check_ = std::thread([this, why, endpoint = *endpoint_, files = *tls_files_] {
        std::string problem = tls_handshake_problem(endpoint, files, std::chrono::seconds(3));
        asio::post(io_, [this, why, problem] {
            if (tls_check_.joinable()) tls_check_.join();
            report_connect_failure(problem.empty() ? why : problem);
        });
    });
}

void Session::report_connect_failure(const std::string& why) {
    log_.warning(component, "cannot connect", {{"broker", config_.broker.uri}, {"reason", why}});
    schedule_reconnect(why);
}

void Session::schedule_reconnect(const std::string& why) {
    if (stopping_ || connecting_ || connected_) return;
    auto delay = backoff_.next();
    log_.info(component, "reconnecting",
              {{"in_ms", std::to_string(delay.count())}, {"after", why}});
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) connect();
    });
}

void Session::on_connected(bool session_present) {
    connecting_ = false;
    // The connect listener can report one connect twice (seen with Paho C++ 1.2, MQTT 5).
    if (stopping_ || connected_) return;
    connected_ = true;
    counters_.broker_connected = 1;
    if (connection_observer_) connection_observer_();
    backoff_.reset();
    if (ever_connected_) ++counters_.reconnects;
    const config::BrokerConfig& b = config_.broker;
    const bool persistent = b.session_expiry_s > 0;

    recount_buffered();

    std::vector<mqtt::const_message_ptr> dropped;
    if (!session_present && !unacknowledged_at_connect_.empty()) {
        std::unordered_set<const mqtt::message*> still_held;
        for (const auto& token : client_->get_pending_delivery_tokens()) {
            if (auto m = token->get_message()) still_held.insert(m.get());
        }
        for (auto& m : unacknowledged_at_connect_) {
            if (!still_held.contains(m.get())) dropped.push_back(std::move(m));
        }
    }
    unacknowledged_at_connect_.clear();

    bool expected = persistent && (ever_connected_ || state_.session_expected());
    if (expected && !session_present) {
        ++counters_.sessions_lost;
        log_.warning(component,
                     "the broker kept no session for us: input queued while we were away and "
                     "publishes in flight are lost (session expired, or the broker lost its "
                     "state)",
                     {{"broker", b.uri}, {"client_id", b.client_id}});
    }
    log_.info(component, "connected",
              {{"broker", b.uri},
               {"client_id", b.client_id},
               {"mqtt", b.mqtt_version == 5 ? "5" : "3.1.1"},
               {"session_present", session_present ? "true" : "false"}});

    if (endpoint_) {
        NodelayResult nodelay = set_nodelay_towards(*endpoint_);
        if (nodelay.sockets_set == 0) {
            log_.warning(component, "cannot set TCP_NODELAY: small publishes may wait 40 ms",
                         {{"reason", nodelay.problem}});
        } else {
            log_.debug(component, "TCP_NODELAY set",
                       {{"sockets", std::to_string(nodelay.sockets_set)}});
        }
    }
    if (!ever_connected_ || !session_present) {
        subscribe_all();
    } else {
        sync_subscriptions();  // a reload while we were away
    }
    if (!ever_connected_) unsubscribe_stale();
    if (!dropped.empty()) {
        // Acknowledged by nobody, so possibly delivered already: duplicates (same event id)
        // are the price, as after any resend.
        log_.warning(component, "the lost session took unacknowledged events: sending them again",
                     {{"events", std::to_string(dropped.size())}});
        counters_.republished += dropped.size();
        for (const auto& m : dropped)
            enqueue(view_of(event_of(*m)));
    }
    try {
        state_.mark_session(persistent);
    } catch (const StateDirError& e) {
        ++counters_.persist_errors;
        log_.warning(component, "cannot write the state directory", {{"error", e.what()}});
    }
    ever_connected_ = true;
    probe_seen_.store(probe_sent_.load());
    note_activity();
    drain_spill();
    probe_tick();
}

void Session::subscribe_all() {
    std::shared_ptr<const core::Decoder> decoder = decoder_.load();  // the running config
    const auto& plan = decoder->config().subscriptions;
    ++subscribe_round_;
    awaiting_subacks_ = plan.subscriptions.size() + 1;
    refused_in_round_ = 0;
    void* round = reinterpret_cast<void*>(static_cast<std::uintptr_t>(subscribe_round_));
    try {
        for (std::size_t i = 0; i < plan.subscriptions.size(); ++i)
            subscribe_one(filters_[i], plan.subscriptions[i].identifier, round);
        client_->subscribe(probe_topic_, 1, round, *subscribe_listener_);
    } catch (const mqtt::exception& e) {
        awaiting_subacks_ = 0;
        log_.error(component, "subscribe failed", {{"error", e.what()}});
        return;
    }
    subscribed_.clear();
    for (std::size_t i = 0; i < plan.subscriptions.size(); ++i)
        subscribed_.emplace_back(filters_[i], plan.subscriptions[i].identifier);
    subscribed_.emplace_back(probe_topic_, 0);
    log_.debug(component, "subscribing", {{"filters", std::to_string(filters_.size())}});
}

void Session::on_subscribe_answered(std::uintptr_t round, bool granted) {
    // Answers of an earlier round (its connection was lost) and of reload's single
    // subscribes (round 0) are not counted.
    if (round == 0 || round != subscribe_round_ || awaiting_subacks_ == 0) return;
    if (!granted) ++refused_in_round_;
    if (--awaiting_subacks_ > 0) return;
    // Only now does the broker route messages to us: "subscribed" said at send time let a
    // publish made right after it reach a broker that had no subscription yet.
    if (refused_in_round_ == 0) {
        log_.info(component, "subscribed", {{"filters", std::to_string(filters_.size())}});
    } else {
        log_.warning(component, "subscribed",
                     {{"filters", std::to_string(filters_.size())},
                      {"refused", std::to_string(refused_in_round_)}});
    }
}

void Session::subscribe_one(const std::string& filter, int identifier, void* round) {
    const config::BrokerConfig& b = config_.broker;
    const bool shared = !b.shared_group.empty();
    mqtt::properties props;
    mqtt::subscribe_options options;
    if (b.mqtt_version == 5) {
        if (identifier > 0)
            props.add(mqtt::property(mqtt::property::SUBSCRIPTION_IDENTIFIER, identifier));
        // No Local keeps our own events out if a filter overlaps the output topic
        // (it is a protocol error on a shared subscription); retained replies are
        // not re-sent on every reconnect.
        options =
            mqtt::subscribe_options(!shared, false, mqtt::subscribe_options::SEND_RETAINED_ON_NEW);
    }
    client_->subscribe(filter, 1, round, *subscribe_listener_, options, props);
}

void Session::unsubscribe_stale() {
    std::vector<std::string> previous = state_.load_subscriptions();
    for (const auto& filter : previous) {
        if (std::find(filters_.begin(), filters_.end(), filter) != filters_.end()) continue;
        try {
            client_->unsubscribe(filter);
            log_.info(component, "unsubscribed a filter no route needs any more",
                      {{"filter", filter}});
        } catch (const mqtt::exception& e) {
            log_.warning(component, "unsubscribe failed",
                         {{"filter", filter}, {"error", e.what()}});
        }
    }
    try {
        state_.store_subscriptions(filters_);
    } catch (const StateDirError& e) {
        ++counters_.persist_errors;
        log_.warning(component, "cannot store the subscription set", {{"error", e.what()}});
    }
}

void Session::note_activity() {
    last_activity_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                         std::memory_order_relaxed);
}

// What Paho still holds, counted afresh: a lost session drops publishes without callbacks,
// and an acknowledgement that lands while the count is taken can be counted twice or not at
// all. Taken at every connect and probe tick, so the gauge is never off for long.
void Session::recount_buffered() {
    std::int64_t events = 0;
    std::int64_t bytes = 0;
    for (const auto& token : client_->get_pending_delivery_tokens()) {
        if (auto m = token->get_message(); m && m->get_topic() != probe_topic_) {
            ++events;
            bytes += static_cast<std::int64_t>(m->get_payload_ref().size());
        }
    }
    std::lock_guard lock(spill_mutex_);
    in_paho_ = events;
    counters_.buffered_events = events + static_cast<std::int64_t>(spill_.size());
    counters_.buffered_bytes = bytes + spill_.bytes();
}

void Session::probe_tick() {
    if (stopping_) return;
    if (connected_) recount_buffered();
    drain_spill();  // in case no delivery came to trigger it
    const auto keepalive = std::chrono::seconds(config_.broker.keepalive_s);
    const auto now = std::chrono::steady_clock::now();
    if (connected_) {
        std::uint64_t sent = probe_sent_.load();
        if (probe_seen_.load() < sent) {
            // Behind a large backlog (a restart with thousands of events to resend) the
            // probe can take longer than 2 x keepalive while the link is fine: a link that
            // still delivers messages or acknowledgements is not stale.
            const auto quiet =
                now - std::chrono::steady_clock::time_point(
                          std::chrono::steady_clock::duration(last_activity_.load()));
            if (now - probe_sent_at_ > 2 * keepalive && quiet > 2 * keepalive) {
                force_reconnect("probe " + std::to_string(sent) + " not back within " +
                                std::to_string(2 * keepalive.count()) + " s");
                return;
            }
        } else {
            try {
                client_->publish(
                    mqtt::message::create(probe_topic_, std::to_string(sent + 1), 1, false));
                probe_sent_.store(sent + 1);
                probe_sent_at_ = now;
            } catch (const mqtt::exception& e) {
                log_.warning(component, "cannot send the probe", {{"error", e.what()}});
            }
        }
    }
    if (config_.broker.persistence == "file") {
        // Failed writes of in-flight events since the last tick (counted by the store), or
        // a failed probe write when there was no traffic.
        std::optional<std::string> why;
        std::uint64_t errors = counters_.persist_errors.load();
        if (errors > persist_errors_seen_) {
            why = "writes of in-flight events failed";
            if (std::string last = inflight_ ? inflight_->last_error() : ""; !last.empty())
                *why += ": " + last;
        }
        if (auto probe = state_.probe_write()) {
            ++counters_.persist_errors;
            why = probe;
        }
        persist_errors_seen_ = counters_.persist_errors.load();
        if (why) {
            if (!persist_failing_) {
                log_.error(component,
                           "the state directory no longer takes writes: in-flight events are "
                           "not safe across a crash",
                           {{"dir", state_.path().string()}, {"error", *why}});
            }
            persist_failing_ = true;
        } else if (persist_failing_) {
            persist_failing_ = false;
            log_.info(component, "the state directory takes writes again",
                      {{"dir", state_.path().string()}});
        }
    }
    // Checked twice per keepalive so a stale probe is caught close to 2 x keepalive.
    probe_timer_.expires_after(keepalive / 2);
    probe_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) probe_tick();
    });
}

void Session::force_reconnect(const std::string& why) {
    ++counters_.stale_reconnects;
    log_.warning(component, "connection looks stale: reconnecting", {{"reason", why}});
    connected_ = false;
    counters_.broker_connected = 0;
    if (connection_observer_) connection_observer_();
    probe_timer_.cancel();
    try {
        client_->disconnect(0, nullptr, *disconnect_listener_);
    } catch (const mqtt::exception&) {
        schedule_reconnect(why);
    }
}

void Session::stop(std::chrono::milliseconds grace) {
    stopping_ = true;
    reconnect_timer_.cancel();
    probe_timer_.cancel();
    suppressor_.stop();  // publishes pending summaries; the wait below covers them too
    auto deadline = std::chrono::steady_clock::now() + grace;
    std::int64_t waiting = counters_.buffered_events.load();
    // Only what Paho holds can go out now; the spillway keeps the rest for the next start.
    while (connected_ && in_paho_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::int64_t left = counters_.buffered_events.load();
    log_.info(component, "stopping",
              {{"in_flight_at_stop", std::to_string(waiting)},
               {"undelivered", std::to_string(left)},
               {"note", left > 0 && config_.broker.persistence == "file"
                            ? "undelivered events stay in the state directory and are sent "
                              "on the next start"
                            : "none"}});
    try {
        if (client_->is_connected()) client_->disconnect(0)->wait_for(std::chrono::seconds(1));
    } catch (const mqtt::exception& e) {
        log_.warning(component, "disconnect failed", {{"error", e.what()}});
    }
    connected_ = false;
}

}  // namespace errbridge::daemon
