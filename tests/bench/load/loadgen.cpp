// Load generator and sink for the end-to-end benchmark (issue 8). One process, two MQTT
// connections on libmosquitto, each driven by its own thread with a plain poll loop:
//   publisher  sends message `seq` of the workload (workload.h) on the vendor topic, or with
//              --direct on the mapped topic a pass-through would use (the broker alone);
//   sink       subscribes to the output filter, finds the sequence number in every message,
//              checks it (event: code, known, vendor and output topic; raw: topic and payload
//              byte for byte) and records its latency.
// Closed loop (--rate 0): at most --window messages in flight end to end, latency from the
// send. Open loop (--rate R): message i is due at start + i/R, latency from that due time
// (so a stalled bridge cannot hide its backlog). Bounded by --count and --timeout.
// Prints one JSON line on stdout; with --watch NAME=PID also that process's CPU time per
// message (utime+stime from /proc/PID/stat over the measured phase) and its VmHWM.
//
// libmosquitto, not Paho C: a publish is one write() from the calling thread, with no
// client threads or queues in between, so the generator costs less than the bridges it
// measures (it prints its own CPU per message to show it).

#include <mosquitto.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "workload.h"

using namespace errbridge::bench;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    int qos = 0;
    std::uint64_t count = 10000;
    std::uint64_t warmup = 500;
    double rate = 0;  // 0: closed loop
    std::uint64_t window = 500;
    double timeout_s = 60;
    double drain_s = 10;
    bool direct = false;
    bool expect_raw = false;
    std::string sub = "errors/#";
    std::string catalog;
    std::string label;
    std::uint64_t seq_base = 0;
    std::vector<std::pair<std::string, int>> watch;
    Workload workload;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "loadgen: %s\n"
                 "usage: loadgen --catalog FILE [--host H] [--port P] [--qos 0|1] [--count N]\n"
                 "  [--warmup N] [--rate R (0 = closed loop)] [--window N] [--timeout S]\n"
                 "  [--drain S] [--direct] [--expect events|raw] [--sub FILTER]\n"
                 "  [--devices N] [--unknown-share F] [--mix A,N,C] [--site S]\n"
                 "  [--raw-prefix P] [--seq-base N] [--label TEXT] [--watch NAME=PID]...\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--host") {
            o.host = value();
        } else if (a == "--port") {
            o.port = std::stoi(value());
        } else if (a == "--qos") {
            o.qos = std::stoi(value());
        } else if (a == "--count") {
            o.count = std::stoull(value());
        } else if (a == "--warmup") {
            o.warmup = std::stoull(value());
        } else if (a == "--rate") {
            o.rate = std::stod(value());
        } else if (a == "--window") {
            o.window = std::max<std::uint64_t>(1, std::stoull(value()));
        } else if (a == "--timeout") {
            o.timeout_s = std::stod(value());
        } else if (a == "--drain") {
            o.drain_s = std::stod(value());
        } else if (a == "--direct") {
            o.direct = true;
            o.expect_raw = true;
        } else if (a == "--expect") {
            std::string e = value();
            if (e != "events" && e != "raw") usage("--expect takes events or raw");
            o.expect_raw = e == "raw";
        } else if (a == "--sub") {
            o.sub = value();
        } else if (a == "--catalog") {
            o.catalog = value();
        } else if (a == "--devices") {
            o.workload.devices = std::max(1u, static_cast<unsigned>(std::stoul(value())));
        } else if (a == "--unknown-share") {
            o.workload.unknown_share = std::stod(value());
        } else if (a == "--mix") {
            unsigned x = 0, y = 0, z = 0;
            if (std::sscanf(value().c_str(), "%u,%u,%u", &x, &y, &z) != 3 || x + y + z == 0)
                usage("--mix takes three weights: aliyun,neuron,camera");
            o.workload.weight_aliyun = x;
            o.workload.weight_neuron = y;
            o.workload.weight_camera = z;
        } else if (a == "--site") {
            o.workload.site = value();
        } else if (a == "--raw-prefix") {
            o.workload.raw_prefix = value();
        } else if (a == "--seq-base") {
            o.seq_base = std::stoull(value());
        } else if (a == "--label") {
            o.label = value();
        } else if (a == "--watch") {
            std::string w = value();
            auto eq = w.find('=');
            if (eq == std::string::npos) usage("--watch takes NAME=PID");
            o.watch.emplace_back(w.substr(0, eq), std::stoi(w.substr(eq + 1)));
        } else if (a == "--help" || a == "-h") {
            usage("help");
        } else {
            usage(("unknown option " + a).c_str());
        }
    }
    if (o.catalog.empty()) usage("--catalog is required (errbridge catalog --format json)");
    if (o.qos < 0 || o.qos > 1) usage("--qos takes 0 or 1");
    if (o.seq_base == 0) {
        std::random_device rd;
        o.seq_base = 1000000000ULL + (static_cast<std::uint64_t>(rd()) % 8000000ULL) * 1000ULL;
    }
    return o;
}

// ---- /proc ------------------------------------------------------------------------------

struct ProcSample {
    double cpu_s = 0;  // utime + stime, all threads
    long vmhwm_kib = 0;
    bool ok = false;
};

ProcSample sample(int pid) {
    ProcSample s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream fields(text.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (fields >> x)
        f.push_back(x);
    // After "pid (comm) ": field 3 (state) is f[0]; utime (14) is f[11], stime (15) f[12].
    if (f.size() < 13) return s;
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.cpu_s = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) / tick;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) s.vmhwm_kib = std::atol(line.c_str() + 6);
    s.ok = true;
    return s;
}

double self_cpu_s() {
    rusage r{};
    ::getrusage(RUSAGE_SELF, &r);
    auto tv = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return tv(r.ru_utime) + tv(r.ru_stime);
}

// ---- MQTT connections ----------------------------------------------------------------

struct Client {
    mosquitto* m = nullptr;
    std::atomic<bool> connected{false};
    std::atomic<bool> subscribed{false};
    std::atomic<int> failed{0};
    std::string sub;  // subscribed to at CONNACK, from the connection's own thread
    int qos = 0;
    ~Client() {
        if (m) mosquitto_destroy(m);
    }
};

void check(int rc, const char* what) {
    if (rc != MOSQ_ERR_SUCCESS)
        throw std::runtime_error(std::string(what) + ": " + mosquitto_strerror(rc));
}

void make_client(Client& c, const std::string& id, void* user) {
    c.m = mosquitto_new(id.c_str(), true, user);
    if (!c.m) throw std::runtime_error("mosquitto_new failed");
    check(mosquitto_int_option(c.m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311), "protocol");
    // No client-side cap on QoS 1 messages in flight: the window is the only bound.
    check(mosquitto_int_option(c.m, MOSQ_OPT_SEND_MAXIMUM, 65535), "send maximum");
    check(mosquitto_int_option(c.m, MOSQ_OPT_TCP_NODELAY, 1), "tcp nodelay");
}

// Reads what is there, writes what is queued, keeps the connection alive. Returns false
// when the connection is gone.
bool service(mosquitto* m, int extra_fd, std::int64_t timeout_ns) {
    pollfd fds[2] = {{mosquitto_socket(m), POLLIN, 0}, {extra_fd, POLLIN, 0}};
    if (mosquitto_want_write(m)) fds[0].events |= POLLOUT;
    timespec ts{static_cast<time_t>(timeout_ns / 1000000000),
                static_cast<long>(timeout_ns % 1000000000)};
    int n = ::ppoll(fds, extra_fd >= 0 ? 2 : 1, timeout_ns >= 0 ? &ts : nullptr, nullptr);
    if (n < 0 && errno != EINTR) return false;
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
        for (int i = 0; i < 1024; ++i) {
            errno = 0;
            if (mosquitto_loop_read(m, 1) != MOSQ_ERR_SUCCESS) return false;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        }
    }
    if (mosquitto_want_write(m) && mosquitto_loop_write(m, 1) != MOSQ_ERR_SUCCESS) return false;
    if (extra_fd >= 0 && (fds[1].revents & POLLIN)) {
        std::uint64_t v = 0;
        if (::read(extra_fd, &v, sizeof(v)) < 0) {
        }
    }
    mosquitto_loop_misc(m);
    return true;
}

// ---- the run --------------------------------------------------------------------------

struct Run {
    Options o;
    std::uint64_t total = 0;  // warmup + count
    // Per message (index = seq - seq_base): when it was due and when it left (publisher
    // thread, read after the run); when it arrived (-1: not yet; sink thread only).
    std::vector<std::int64_t> due_ns, sent_ns;
    std::vector<std::int64_t> recv_ns;
    std::atomic<std::uint64_t> received{0};  // unique, warm-up included
    std::atomic<std::uint64_t> received_measured{0};
    std::atomic<std::int64_t> last_receive_ns{0};
    std::atomic<std::uint64_t> duplicated{0};
    std::atomic<std::uint64_t> wrong{0};
    // The sink wakes a publisher waiting on the window once `received` reaches wake_at
    // (not on every message: one wake-up per quarter window).
    std::atomic<std::uint64_t> wake_at{UINT64_MAX};
    int wake_fd = -1;  // eventfd: the sink wakes a publisher waiting on the window
    int stop_fd = -1;  // eventfd: stops the sink thread
    Message scratch;   // sink thread only
    int wrong_printed = 0;

    void report_wrong(const std::string& why, const mosquitto_message* msg) {
        ++wrong;
        if (wrong_printed++ < 5) {
            std::string payload(
                static_cast<const char*>(msg->payload),
                std::min<std::size_t>(static_cast<std::size_t>(msg->payloadlen), 300));
            std::fprintf(stderr, "loadgen: wrong message (%s) on %s: %s\n", why.c_str(), msg->topic,
                         payload.c_str());
        }
    }

    void on_message(const mosquitto_message* msg) {
        const std::int64_t now = now_ns();
        std::string_view topic(msg->topic);
        std::string_view payload(static_cast<const char*>(msg->payload),
                                 static_cast<std::size_t>(msg->payloadlen));
        std::optional<std::uint64_t> seq;
        EventFields event;
        if (o.expect_raw) {
            seq = seq_of_raw(topic, payload, o.workload);
        } else {
            if (!parse_event(payload, event)) return report_wrong("not an event", msg);
            seq = event.seq;
        }
        if (!seq || *seq < o.seq_base || *seq - o.seq_base >= total)
            return report_wrong("no sequence number of this run", msg);
        const std::uint64_t index = *seq - o.seq_base;
        make_message(o.workload, *seq, scratch);
        if (o.expect_raw) {
            if (topic != raw_topic(o.workload, scratch.topic)) return report_wrong("topic", msg);
            if (payload != scratch.payload) return report_wrong("payload changed", msg);
        } else {
            if (event.kind != "error") return report_wrong("kind", msg);
            if (event.vendor != vendor_of(scratch.shape)) return report_wrong("vendor", msg);
            if (event.code != scratch.code)
                return report_wrong("code, expected " + scratch.code, msg);
            if (event.known && *event.known != scratch.known) return report_wrong("known", msg);
            if (topic != scratch.event_topic)
                return report_wrong("topic, expected " + scratch.event_topic, msg);
        }
        if (recv_ns[index] >= 0) {
            ++duplicated;
            return;
        }
        recv_ns[index] = now;
        last_receive_ns.store(now, std::memory_order_relaxed);
        if (index >= o.warmup) received_measured.fetch_add(1, std::memory_order_relaxed);
        const std::uint64_t got = received.fetch_add(1, std::memory_order_acq_rel) + 1;
        if (got >= wake_at.load(std::memory_order_acquire) &&
            wake_at.exchange(UINT64_MAX) != UINT64_MAX) {
            std::uint64_t one = 1;
            if (::write(wake_fd, &one, sizeof(one)) < 0) {
            }
        }
    }
};

void on_connect(mosquitto*, void* user, int rc) {
    auto* c = static_cast<Client*>(user);
    if (rc == 0) {
        c->connected = true;
        if (!c->sub.empty() &&
            mosquitto_subscribe(c->m, nullptr, c->sub.c_str(), c->qos) != MOSQ_ERR_SUCCESS)
            c->failed = -1;
    } else {
        c->failed = rc;
    }
}

void on_subscribe(mosquitto*, void* user, int, int count, const int* granted) {
    auto* c = static_cast<Client*>(user);
    if (count > 0 && granted[0] <= 2) {
        c->subscribed = true;
    } else {
        c->failed = -1;
    }
}

Run* the_run = nullptr;  // libmosquitto's userdata is the Client

void on_message(mosquitto*, void*, const mosquitto_message* msg) {
    the_run->on_message(msg);
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
    if (sorted.empty()) return -1;
    auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size()))) - 1;
    return sorted[std::min(i, sorted.size() - 1)];
}

int run(Options options) {
    Run r;
    r.o = std::move(options);
    const Options& o = r.o;
    r.o.workload.codes = load_codes(o.catalog);
    r.total = o.warmup + o.count;
    r.due_ns.assign(r.total, 0);
    r.sent_ns.assign(r.total, 0);
    r.recv_ns.assign(r.total, -1);
    r.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r.stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    the_run = &r;

    // Sleeps end on time (the default slack is 50 us), so open-loop sends leave on schedule.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    mosquitto_lib_init();
    const std::string suffix = std::to_string(::getpid()) + "-" + std::to_string(o.seq_base);
    Client sink, pub;
    make_client(sink, "bench-sink-" + suffix, &sink);
    make_client(pub, "bench-pub-" + suffix, &pub);
    mosquitto_connect_callback_set(sink.m, on_connect);
    mosquitto_subscribe_callback_set(sink.m, on_subscribe);
    mosquitto_message_callback_set(sink.m, on_message);
    mosquitto_connect_callback_set(pub.m, on_connect);

    sink.sub = o.sub;
    sink.qos = o.qos;
    check(mosquitto_connect(sink.m, o.host.c_str(), o.port, 60), "sink connect");
    std::atomic<bool> sink_ok{true};
    std::atomic<bool> stopping{false};
    std::thread sink_thread([&] {
        while (!stopping.load()) {
            if (!service(sink.m, r.stop_fd, 100'000'000)) {
                sink_ok = false;
                break;
            }
        }
    });
    struct Stop {
        Run& r;
        std::thread& t;
        std::atomic<bool>& stopping;
        ~Stop() {
            stopping = true;
            std::uint64_t one = 1;
            if (::write(r.stop_fd, &one, sizeof(one)) < 0) {
            }
            if (t.joinable()) t.join();
        }
    } stop_sink{r, sink_thread, stopping};

    const std::int64_t connect_deadline = now_ns() + std::int64_t{10'000'000'000};
    while (!sink.connected && !sink.failed && now_ns() < connect_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!sink.connected) throw std::runtime_error("sink: no CONNACK");
    while (!sink.subscribed && !sink.failed && now_ns() < connect_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!sink.subscribed) throw std::runtime_error("sink: no SUBACK");

    check(mosquitto_connect(pub.m, o.host.c_str(), o.port, 60), "publisher connect");
    while (!pub.connected && !pub.failed && now_ns() < connect_deadline)
        if (!service(pub.m, -1, 1'000'000)) throw std::runtime_error("publisher: lost");
    if (!pub.connected) throw std::runtime_error("publisher: no CONNACK");

    Message m;
    auto publish = [&](std::uint64_t index, std::int64_t due) {
        make_message(o.workload, o.seq_base + index, m);
        const std::string& topic = o.direct ? raw_topic(o.workload, m.topic) : m.topic;
        r.due_ns[index] = due;
        r.sent_ns[index] = now_ns();
        int rc =
            mosquitto_publish(pub.m, nullptr, topic.c_str(), static_cast<int>(m.payload.size()),
                              m.payload.data(), o.qos, false);
        if (rc != MOSQ_ERR_SUCCESS)
            throw std::runtime_error(std::string("publish: ") + mosquitto_strerror(rc));
    };
    std::uint64_t stalls = 0;
    // Closed loop: wait until fewer than `window` messages are in flight end to end. A
    // message lost on the way would hold its slot forever, so a wait with no progress for
    // a second gives up on the window (counted as a stall).
    auto in_flight = [&](std::uint64_t sent) {
        return sent - std::min(sent, r.received.load(std::memory_order_acquire) + stalls);
    };
    auto wait_window = [&](std::uint64_t sent) {
        if (in_flight(sent) < o.window) return;
        std::int64_t give_up = now_ns() + 1'000'000'000;
        std::uint64_t seen = r.received.load(std::memory_order_acquire);
        // Resume when three quarters of the window are in flight.
        const std::uint64_t resume = o.window - std::max<std::uint64_t>(1, o.window / 4);
        while (in_flight(sent) > resume) {
            r.wake_at.store(sent - stalls - resume, std::memory_order_release);
            if (in_flight(sent) <= resume) break;
            if (!service(pub.m, r.wake_fd, 2'000'000)) throw std::runtime_error("publisher: lost");
            std::uint64_t got = r.received.load(std::memory_order_acquire);
            if (got != seen) {
                seen = got;
                give_up = now_ns() + 1'000'000'000;
            } else if (now_ns() > give_up) {
                stalls += o.window;
                break;
            }
        }
        r.wake_at.store(UINT64_MAX, std::memory_order_release);
    };

    // Warm-up: closed loop, not measured, everything back before the measured phase.
    for (std::uint64_t i = 0; i < o.warmup; ++i) {
        wait_window(i);
        publish(i, now_ns());
        if ((i & 63) == 0 && !service(pub.m, -1, 0)) throw std::runtime_error("publisher: lost");
    }
    const std::int64_t warm_deadline = now_ns() + std::int64_t{10'000'000'000};
    while (r.received.load() < o.warmup && now_ns() < warm_deadline)
        service(pub.m, -1, 1'000'000);
    const std::uint64_t warm_lost = o.warmup - std::min(o.warmup, r.received.load());
    stalls = 0;

    std::vector<ProcSample> before;
    for (const auto& [name, pid] : o.watch)
        before.push_back(sample(pid));
    const double self_before = self_cpu_s();
    const std::int64_t start = now_ns();
    const auto deadline = start + static_cast<std::int64_t>(o.timeout_s * 1e9);
    std::uint64_t sent = 0;
    const double interval_ns = o.rate > 0 ? 1e9 / o.rate : 0;
    for (std::uint64_t i = 0; i < o.count; ++i) {
        std::int64_t now = now_ns();
        if (now > deadline) break;
        std::int64_t due = now;
        if (o.rate > 0) {
            due = start + static_cast<std::int64_t>(static_cast<double>(i) * interval_ns);
            while ((now = now_ns()) < due)
                if (!service(pub.m, -1, due - now)) throw std::runtime_error("publisher: lost");
        } else {
            wait_window(o.warmup + i);
            due = now_ns();
        }
        publish(o.warmup + i, due);
        ++sent;
        if ((i & 63) == 0 && !service(pub.m, -1, 0)) throw std::runtime_error("publisher: lost");
    }
    const std::int64_t sent_done = now_ns();
    const std::int64_t drain_deadline = std::min<std::int64_t>(
        sent_done + static_cast<std::int64_t>(o.drain_s * 1e9),
        std::max<std::int64_t>(deadline, sent_done + std::int64_t{1'000'000'000}));
    while (r.received_measured.load() < sent && now_ns() < drain_deadline)
        service(pub.m, -1, 1'000'000);
    // Duplicates arrive after the originals: a short grace catches most of them.
    const std::int64_t grace = now_ns() + 200'000'000;
    while (now_ns() < grace)
        service(pub.m, -1, 10'000'000);
    const double self_cpu = self_cpu_s() - self_before;
    std::vector<ProcSample> after;
    for (const auto& [name, pid] : o.watch)
        after.push_back(sample(pid));
    mosquitto_disconnect(pub.m);
    stopping = true;  // the sink thread stops writing recv_ns before it is read below
    {
        std::uint64_t one = 1;
        if (::write(r.stop_fd, &one, sizeof(one)) < 0) {
        }
    }
    sink_thread.join();

    // Latency from the due time (the figure quoted), from the actual send (without the
    // generator's own lateness), and that lateness.
    std::vector<std::int64_t> lat, from_send, lag;
    lat.reserve(sent);
    from_send.reserve(sent);
    lag.reserve(sent);
    std::uint64_t over_40ms = 0;
    for (std::uint64_t i = o.warmup; i < o.warmup + sent; ++i) {
        lag.push_back(r.sent_ns[i] - r.due_ns[i]);
        if (r.recv_ns[i] < 0) continue;
        lat.push_back(r.recv_ns[i] - r.due_ns[i]);
        from_send.push_back(r.recv_ns[i] - r.sent_ns[i]);
        if (lat.back() >= 40'000'000) ++over_40ms;
    }
    std::sort(lat.begin(), lat.end());
    std::sort(from_send.begin(), from_send.end());
    const std::uint64_t received = lat.size();
    const std::int64_t end =
        received > 0 ? std::max(r.last_receive_ns.load(), start + 1) : now_ns();
    const double elapsed_s = static_cast<double>(end - start) / 1e9;
    auto us = [](std::int64_t ns) { return ns < 0 ? -1.0 : static_cast<double>(ns) / 1e3; };
    const double per_msg = received > 0 ? 1e6 / static_cast<double>(received) : 0;

    std::string out = "{";
    char buf[512];
    auto add = [&](const char* fmt, auto... args) {
        std::snprintf(buf, sizeof(buf), fmt, args...);
        out += buf;
    };
    add("\"label\":\"%s\",\"qos\":%d,\"mode\":\"%s\",\"rate\":%.0f,\"window\":%llu,",
        json_escape(o.label).c_str(), o.qos, o.rate > 0 ? "open" : "closed", o.rate,
        static_cast<unsigned long long>(o.rate > 0 ? 0 : o.window));
    add("\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"duplicated\":%llu,\"wrong\":%llu,",
        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received),
        static_cast<unsigned long long>(sent - std::min(sent, received)),
        static_cast<unsigned long long>(r.duplicated.load()),
        static_cast<unsigned long long>(r.wrong.load()));
    add("\"throughput\":%.0f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,",
        received > 0 ? static_cast<double>(received) / elapsed_s : 0.0, us(percentile(lat, 0.5)),
        us(percentile(lat, 0.9)), us(percentile(lat, 0.99)), us(lat.empty() ? -1 : lat.back()));
    add("\"over_40ms\":%llu,\"elapsed_s\":%.3f,\"stalls\":%llu,\"warmup_lost\":%llu,",
        static_cast<unsigned long long>(over_40ms), elapsed_s,
        static_cast<unsigned long long>(stalls), static_cast<unsigned long long>(warm_lost));
    std::sort(lag.begin(), lag.end());
    add("\"from_send_p50_us\":%.1f,\"from_send_p99_us\":%.1f,", us(percentile(from_send, 0.5)),
        us(percentile(from_send, 0.99)));
    add("\"send_lag_p50_us\":%.1f,\"send_lag_p99_us\":%.1f,", us(percentile(lag, 0.5)),
        us(percentile(lag, 0.99)));
    add("\"loadgen_cpu_us_per_msg\":%.2f", self_cpu * per_msg);
    for (std::size_t i = 0; i < o.watch.size(); ++i) {
        if (!before[i].ok || !after[i].ok) {
            add(",\"%s\":null", json_escape(o.watch[i].first).c_str());
            continue;
        }
        add(",\"%s\":{\"cpu_us_per_msg\":%.2f,\"cpu_s\":%.2f,\"vmhwm_kib\":%ld}",
            json_escape(o.watch[i].first).c_str(), (after[i].cpu_s - before[i].cpu_s) * per_msg,
            after[i].cpu_s - before[i].cpu_s, after[i].vmhwm_kib);
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    if (!sink_ok) std::fprintf(stderr, "loadgen: the sink lost its connection\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "loadgen: %s\n", e.what());
        return 1;
    }
}
