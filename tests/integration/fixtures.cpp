#include "fixtures.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mqtt/async_client.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CATCH_CONFIG_EXTERNAL_INTERFACES  // the listener interface
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace errbridge::it {

namespace fs = std::filesystem;

namespace {

// Logs of the brokers and daemons alive in the current test, printed at its first failure.
std::mutex sources_mutex;
std::map<const void*, std::function<std::string()>> log_sources;

void add_log_source(const void* owner, std::function<std::string()> source) {
    std::lock_guard lock(sources_mutex);
    log_sources[owner] = std::move(source);
}

void remove_log_source(const void* owner) {
    std::lock_guard lock(sources_mutex);
    log_sources.erase(owner);
}

struct PrintLogsOnFailure : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    bool printed = false;
    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        TestEventListenerBase::testCaseStarting(info);
        printed = false;
    }
    bool assertionEnded(const Catch::AssertionStats& stats) override {
        if (stats.assertionResult.isOk() || printed) return true;
        printed = true;
        std::lock_guard lock(sources_mutex);
        for (const auto& [owner, source] : log_sources)
            std::cerr << source();
        return true;
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(PrintLogsOnFailure)

TempDir::TempDir(const std::string& name) {
    path_ = fs::temp_directory_path() / ("errbridge-it-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind a loopback port");
    }
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

Process::Process(std::vector<std::string> argv, fs::path log,
                 std::map<std::string, std::string> env)
    : log_(std::move(log)) {
    // Everything the child needs is prepared before fork: after it, only exec.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string entry = *e;
        std::string key = entry.substr(0, entry.find('='));
        if (!env.count(key)) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env)
        env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot open " + log_.string());
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    ::close(fd);
    if (pid_ < 0) throw std::runtime_error("fork failed");
}

Process::~Process() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(5s);
    }
}

bool Process::running() {
    if (status_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return r == 0;
}

void Process::signal(int sig) {
    if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    eventually([&] { return !running(); }, timeout);
    return status_;
}

void run_command(const std::vector<std::string>& argv, const fs::path& log,
                 std::chrono::milliseconds timeout) {
    Process process(argv, log);
    auto status = process.wait(timeout);
    if (status != 0) {
        std::string command;
        for (const auto& a : argv)
            command += (command.empty() ? "" : " ") + a;
        throw std::runtime_error(command + ": " +
                                 (status ? "exit status " + std::to_string(*status) : "timed out") +
                                 "\n" + process.log());
    }
}

namespace {

const char* const openssl = "/usr/bin/openssl";

// A P-256 key and a certificate for `subject_alt_names`, signed by `ca` (its .crt and .key).
void issue_certificate(const fs::path& dir, const std::string& name, const std::string& ca,
                       const std::string& subject_alt_names) {
    const fs::path log = dir / "openssl.log";
    const std::string base = (dir / name).string();
    run_command({openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-subj", "/CN=" + name, "-keyout", base + ".key", "-out", base + ".csr"},
                log);
    write_file(base + ".ext", "subjectAltName=" + subject_alt_names + "\n");
    const std::string ca_base = (dir / ca).string();
    run_command({openssl, "x509", "-req", "-in", base + ".csr", "-CA", ca_base + ".crt", "-CAkey",
                 ca_base + ".key", "-CAcreateserial", "-days", "1", "-extfile", base + ".ext",
                 "-out", base + ".crt"},
                log);
}

void make_ca(const fs::path& dir, const std::string& name) {
    const std::string base = (dir / name).string();
    run_command(
        {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=" + name, "-days", "1", "-keyout", base + ".key", "-out", base + ".crt"},
        dir / "openssl.log");
}

}  // namespace

TlsMaterial::TlsMaterial(const fs::path& dir) {
    fs::create_directories(dir);
    make_ca(dir, "errbridge-test-ca");
    make_ca(dir, "errbridge-rogue-ca");
    issue_certificate(dir, "server", "errbridge-test-ca", "IP:127.0.0.1,DNS:localhost");
    issue_certificate(dir, "client", "errbridge-test-ca", "DNS:errbridge-client");
    issue_certificate(dir, "rogue-server", "errbridge-rogue-ca", "IP:127.0.0.1,DNS:localhost");
    issue_certificate(dir, "wrong-host", "errbridge-test-ca", "DNS:wrong.example");
    ca_cert = dir / "errbridge-test-ca.crt";
    server_cert = dir / "server.crt";
    server_key = dir / "server.key";
    client_cert = dir / "client.crt";
    client_key = dir / "client.key";
    rogue_ca_cert = dir / "errbridge-rogue-ca.crt";
    rogue_server_cert = dir / "rogue-server.crt";
    rogue_server_key = dir / "rogue-server.key";
    wrong_host_cert = dir / "wrong-host.crt";
    wrong_host_key = dir / "wrong-host.key";
}

void write_mosquitto_passwords(const fs::path& file,
                               const std::map<std::string, std::string>& users) {
    bool first = true;
    for (const auto& [user, password] : users) {
        std::vector<std::string> argv{"/usr/bin/mosquitto_passwd", "-b"};
        if (first) argv.push_back("-c");
        argv.insert(argv.end(), {file.string(), user, password});
        run_command(argv, file.string() + ".log");
        first = false;
    }
}

Mosquitto::Mosquitto(const fs::path& dir, bool persistent, const std::string& extra_conf,
                     std::optional<TlsListener> tls)
    : dir_(dir), persistent_(persistent), port_(free_loopback_port()) {
    // Per-listener authentication must be switched on before the first listener.
    std::string conf = tls ? "per_listener_settings true\n" : "";
    conf += "listener " + std::to_string(port_) +
            " 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
            "max_inflight_messages 0\nset_tcp_nodelay true\n";
    // ERRBRIDGE_IT_BROKER_DEBUG=1: every packet in the broker log, for delivery bugs.
    if (const char* debug = std::getenv("ERRBRIDGE_IT_BROKER_DEBUG");
        debug && std::string_view(debug) == "1")
        conf += "log_type all\n";
    // As root, mosquitto drops to the `mosquitto` user, which cannot write our temp dir.
    if (::geteuid() == 0) conf += "user root\n";
    if (persistent_) {
        conf += "persistence true\npersistence_location " + dir_.string() + "/\n";
    }
    conf += extra_conf;
    if (tls) {
        do
            tls_port_ = free_loopback_port();
        while (tls_port_ == port_);
        conf += "listener " + std::to_string(tls_port_) + " 127.0.0.1\ncafile " +
                tls->ca_file.string() + "\ncertfile " + tls->cert_file.string() + "\nkeyfile " +
                tls->key_file.string() +
                "\nrequire_certificate true\nuse_identity_as_username false\n";
        if (!tls->password_file.empty()) {
            conf += "password_file " + tls->password_file.string() + "\nallow_anonymous false\n";
        }
    }
    write_file(dir_ / "mosquitto.conf", conf);
    add_log_source(this, [this] { return "--- mosquitto log\n" + log(); });
    start();
}

Mosquitto::~Mosquitto() {
    remove_log_source(this);
    if (process_) stop(SIGTERM);
}

void Mosquitto::start() {
    ++starts_;
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"/usr/sbin/mosquitto", "-c", (dir_ / "mosquitto.conf").string()},
        dir_ / ("mosquitto-" + std::to_string(starts_) + ".log"));
    auto accepts = [](int port) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
        ::close(fd);
        return ok;
    };
    bool up = eventually(
        [&] {
            if (!accepts(port_)) return false;
            ++probes_;
            if (tls_port_ == 0) return true;
            if (!accepts(tls_port_)) return false;
            ++tls_probes_;
            return true;
        },
        10s);
    if (!up) throw std::runtime_error("mosquitto did not start:\n" + log());
}

void Mosquitto::freeze() {
    process_->signal(SIGSTOP);
}

void Mosquitto::stop(int sig) {
    process_->signal(sig);
    process_->signal(SIGCONT);  // a frozen broker acts on `sig` only once continued
    process_->wait(10s);
    process_.reset();
}

std::string Mosquitto::log() const {
    std::string all;
    for (int i = 1; i <= starts_; ++i)
        all += read_file(dir_ / ("mosquitto-" + std::to_string(i) + ".log"));
    return all;
}

TestClient::TestClient(const std::string& uri, const std::string& client_id, int mqtt_version,
                       bool persistent, const ClientSecurity& security) {
    mqtt::create_options create;
    create.set_mqtt_verison(mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    create.set_max_buffered_messages(100000);  // publish_stream's window, not Paho's 100
    create.set_send_while_disconnected(persistent);
    client_ = std::make_unique<mqtt::async_client>(
        uri, client_id, create, static_cast<mqtt::iclient_persistence*>(nullptr));
    client_->set_message_callback([this](mqtt::const_message_ptr m) {
        Received r{m->get_topic(), m->get_payload_str(), {}, {}};
        const auto& props = m->get_properties();
        for (std::size_t i = 0; i < props.count(mqtt::property::USER_PROPERTY); ++i) {
            auto [k, v] = mqtt::get<mqtt::string_pair>(props, mqtt::property::USER_PROPERTY, i);
            r.user_properties[k] = v;
        }
        if (props.contains(mqtt::property::CONTENT_TYPE)) {
            r.content_type = mqtt::get<std::string>(props, mqtt::property::CONTENT_TYPE);
        }
        std::lock_guard lock(mutex_);
        messages_.push_back(std::move(r));
        arrived_.notify_all();
    });
    mqtt::connect_options options;
    options.set_mqtt_version(mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (mqtt_version == 5) {
        options.set_clean_start(!persistent);
        if (persistent)
            options.set_properties({mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL, 3600)});
    } else {
        options.set_clean_session(!persistent);
    }
    if (persistent) {
        options.set_automatic_reconnect(1s, 2s);
        // A broker that lost its state (kill -9 before it saved) comes back without our
        // session: subscribe again, which a kept session takes as a no-op.
        client_->set_connected_handler([this](const std::string&) {
            std::vector<std::string> filters;
            {
                std::lock_guard lock(mutex_);  // not held into Paho: its callbacks take it
                filters = filters_;
            }
            for (const auto& filter : filters)
                client_->subscribe(filter, 1);
        });
    }
    if (!security.username.empty()) options.set_user_name(security.username);
    if (!security.password.empty()) options.set_password(security.password);
    if (uri.rfind("ssl://", 0) == 0) {
        mqtt::ssl_options ssl;
        if (!security.ca_file.empty()) ssl.set_trust_store(security.ca_file.string());
        if (!security.cert_file.empty()) ssl.set_key_store(security.cert_file.string());
        if (!security.key_file.empty()) ssl.set_private_key(security.key_file.string());
        ssl.set_enable_server_cert_auth(true);
        ssl.set_verify(security.verify_host);
        options.set_ssl(std::move(ssl));
    }
    try {
        client_->connect(options)->wait_for(10s);
    } catch (const mqtt::exception& e) {
        // connected() says so; the test decides whether that is a failure.
        std::cerr << "test client " << client_id << ": cannot connect to " << uri << ": "
                  << e.what() << "\n";
    }
}

bool TestClient::connected() const {
    return client_->is_connected();
}

TestClient::~TestClient() {
    try {
        client_->disconnect()->wait_for(2s);
    } catch (...) {
    }
}

void TestClient::subscribe(const std::string& filter) {
    {
        std::lock_guard lock(mutex_);
        filters_.push_back(filter);
    }
    client_->subscribe(filter, 1)->wait_for(10s);
}

void TestClient::publish(const std::string& topic, const std::string& payload, int qos) {
    client_->publish(topic, payload.data(), payload.size(), qos, false)->wait_for(10s);
}

void TestClient::publish_stream(const std::string& topic,
                                const std::function<std::string(std::size_t)>& payload,
                                std::size_t count, std::size_t window,
                                std::atomic<std::size_t>& acknowledged) {
    std::deque<mqtt::delivery_token_ptr> in_flight;
    for (std::size_t i = 0; i < count; ++i) {
        if (in_flight.size() >= window) {
            in_flight.front()->wait_for(30s);
            in_flight.pop_front();
            ++acknowledged;
        }
        std::string body = payload(i);
        in_flight.push_back(client_->publish(topic, body.data(), body.size(), 1, false));
    }
    for (auto& token : in_flight) {
        token->wait_for(30s);
        ++acknowledged;
    }
}

std::size_t TestClient::count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
}

std::vector<Received> TestClient::wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
    return messages_;
}

std::vector<Received> TestClient::wait_until(
    const std::function<bool(const std::vector<Received>&)>& done,
    std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [&] { return done(messages_); });
    return messages_;
}

std::vector<Received> TestClient::received() {
    std::lock_guard lock(mutex_);
    return messages_;
}

namespace {

// ERRBRIDGE_IT_THREAD_DUMP=1: the stacks of a daemon still alive at a failure, for hangs
// that only show under load.
std::string thread_dump(Process& process) {
    const char* wanted = std::getenv("ERRBRIDGE_IT_THREAD_DUMP");
    if (!wanted || std::string_view(wanted) != "1" || !process.running()) return "";
    const std::string command =
        "gdb -p " + std::to_string(process.pid()) + " -batch -ex 'thread apply all bt' 2>&1";
    std::string out = "--- errbridge threads\n";
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
            out.append(buffer, n);
        ::pclose(pipe);
    }
    return out;
}

}  // namespace

Daemon::Daemon(const fs::path& dir, const std::string& config_toml,
               std::map<std::string, std::string> env, std::vector<std::string> args,
               std::vector<std::string> wrapper) {
    write_file(dir / "errbridge.toml", config_toml);
    static int instance = 0;
    std::vector<std::string> argv = std::move(wrapper);
    for (std::string arg : {std::string(ERRBRIDGE_BINARY), std::string("run"), std::string("-c"),
                            (dir / "errbridge.toml").string()})
        argv.push_back(std::move(arg));
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Process>(std::move(argv),
                                         dir / ("errbridge-" + std::to_string(++instance) + ".log"),
                                         std::move(env));
    add_log_source(this, [this] { return "--- errbridge log\n" + log() + thread_dump(*process_); });
}

Daemon::~Daemon() {
    remove_log_source(this);
}

bool Daemon::wait_subscribed(std::chrono::milliseconds timeout) {
    return wait_log("session: subscribed", timeout);
}

bool Daemon::wait_log(const std::string& text, std::chrono::milliseconds timeout, int times) {
    return eventually(
        [&] {
            std::string log = process_->log();
            int found = 0;
            for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1))
                ++found;
            return found >= times;
        },
        timeout);
}

}  // namespace errbridge::it
