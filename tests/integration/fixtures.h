#pragma once

// Integration fixtures: a real mosquitto on a free loopback port, the real errbridge binary
// as a child process, and a Paho test client that records what arrives. Everything is
// RAII: brokers and daemons are stopped even when a test fails, and their logs are
// printed only then.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mqtt {
class async_client;
}

namespace errbridge::it {

using namespace std::chrono_literals;

// A directory removed at scope exit.
class TempDir {
  public:
    explicit TempDir(const std::string& name);
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

int free_loopback_port();
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);

// A child process with stderr (and stdout) captured in a file.
class Process {
  public:
    Process(std::vector<std::string> argv, std::filesystem::path log,
            std::map<std::string, std::string> env = {});
    ~Process();  // SIGKILL if still running
    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig);
    // The exit status (or 128 + signal), nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    std::string log() const { return read_file(log_); }

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path log_;
};

// Runs `argv` (argv[0] an absolute path) to completion; throws with its output when it
// fails or takes longer than `timeout`.
void run_command(const std::vector<std::string>& argv, const std::filesystem::path& log,
                 std::chrono::milliseconds timeout = 10s);

// A throwaway PKI made with the openssl CLI when the test runs (EC P-256 keys, valid for a
// day), so no key is ever committed. All files are PEM in `dir`.
struct TlsMaterial {
    explicit TlsMaterial(const std::filesystem::path& dir);
    std::filesystem::path ca_cert;
    std::filesystem::path server_cert, server_key;  // SAN IP:127.0.0.1, DNS:localhost
    std::filesystem::path client_cert, client_key;
    // Another CA, and a server certificate for the right names signed by it.
    std::filesystem::path rogue_ca_cert, rogue_server_cert, rogue_server_key;
    // Signed by the right CA, but only for DNS:wrong.example.
    std::filesystem::path wrong_host_cert, wrong_host_key;
};

// A mosquitto password file with these users (mosquitto_passwd -b, -c for the first).
void write_mosquitto_passwords(const std::filesystem::path& file,
                               const std::map<std::string, std::string>& users);

// A second, TLS listener: clients must present a certificate from `ca_file` and, when
// `password_file` is set, a user name and password from it (no anonymous access). With it,
// authentication settings are per listener: the plain listener stays anonymous.
struct TlsListener {
    std::filesystem::path ca_file, cert_file, key_file;
    std::filesystem::path password_file;
};

class Mosquitto {
  public:
    // `persistent`: keeps sessions and queued messages across a restart (SIGTERM writes
    // them to disk).
    // `extra_conf`: more mosquitto.conf lines (an acl_file, say).
    // `tls`: a TLS listener on a second free port, besides the plain one.
    Mosquitto(const std::filesystem::path& dir, bool persistent = false,
              const std::string& extra_conf = "", std::optional<TlsListener> tls = std::nullopt);
    ~Mosquitto();
    Mosquitto(const Mosquitto&) = delete;
    Mosquitto& operator=(const Mosquitto&) = delete;
    int port() const { return port_; }
    std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
    int tls_port() const { return tls_port_; }
    std::string tls_uri(const std::string& host = "127.0.0.1") const {
        return "ssl://" + host + ":" + std::to_string(tls_port_);
    }
    void start();
    void stop(int sig);
    // SIGSTOP: the broker hangs with its sockets open (stop() continues it first).
    void freeze();
    std::string log() const;
    // Connections the start-up probes made to `port` (each is a "New connection" line in
    // the log), so a test can tell them from its clients'.
    int probe_connections(int port) const { return port == port_ ? probes_ : tls_probes_; }

  private:
    std::filesystem::path dir_;
    bool persistent_;
    int port_;
    int tls_port_ = 0;
    int probes_ = 0;
    int tls_probes_ = 0;
    std::unique_ptr<Process> process_;
    int starts_ = 0;
};

struct Received {
    std::string topic;
    std::string payload;
    std::map<std::string, std::string> user_properties;
    std::string content_type;
};

// TLS and credentials for a test client on an ssl:// uri.
struct ClientSecurity {
    std::filesystem::path ca_file, cert_file, key_file;
    std::string username, password;
    bool verify_host = true;  // false: the chain is still checked, the host name is not
};

// A test client: subscribes with QoS 1 and records every message.
class TestClient {
  public:
    // `persistent`: a kept session (clean start off) and automatic reconnect, for a sink
    // that must not miss events across a broker restart.
    TestClient(const std::string& uri, const std::string& client_id, int mqtt_version = 5,
               bool persistent = false, const ClientSecurity& security = {});
    ~TestClient();
    bool connected() const;
    void subscribe(const std::string& filter);
    void publish(const std::string& topic, const std::string& payload, int qos = 1);
    // Publishes `count` QoS 1 messages as fast as the broker takes them, at most `window`
    // unacknowledged; `acknowledged` follows progress for another thread.
    void publish_stream(const std::string& topic,
                        const std::function<std::string(std::size_t)>& payload, std::size_t count,
                        std::size_t window, std::atomic<std::size_t>& acknowledged);
    // Messages received so far (cheap; received() copies them).
    std::size_t count();
    // Waits until `count` messages arrived (or the timeout); returns all of them.
    std::vector<Received> wait_for(std::size_t count, std::chrono::milliseconds timeout);
    std::vector<Received> wait_until(const std::function<bool(const std::vector<Received>&)>& done,
                                     std::chrono::milliseconds timeout);
    std::vector<Received> received();

  private:
    std::unique_ptr<mqtt::async_client> client_;
    std::vector<std::string> filters_;  // subscribed again on every reconnect
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<Received> messages_;
};

// Waits until `predicate` holds, polling; false on timeout.
template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout);

// The daemon under test, with its config written to `dir/errbridge.toml`.
class Daemon {
  public:
    // `args`: more arguments after `run -c <config>` (--log-level debug, say). `wrapper`: a
    // command line the daemon's is appended to (prlimit, a shell that ignores a signal).
    Daemon(const std::filesystem::path& dir, const std::string& config_toml,
           std::map<std::string, std::string> env = {}, std::vector<std::string> args = {},
           std::vector<std::string> wrapper = {});
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    Process& process() { return *process_; }
    std::string log() const { return process_->log(); }
    // Waits until the log shows a subscription to the broker.
    bool wait_subscribed(std::chrono::milliseconds timeout = 10s);
    // Waits until the log contains `text` `times` times.
    bool wait_log(const std::string& text, std::chrono::milliseconds timeout, int times = 1);

  private:
    std::unique_ptr<Process> process_;
};

}  // namespace errbridge::it

#include "fixtures_impl.h"
