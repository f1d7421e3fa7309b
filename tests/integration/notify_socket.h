#pragma once

// The systemd side of sd_notify for tests: a unix datagram socket the test owns, passed to
// the daemon as NOTIFY_SOCKET, recording every message with its arrival time.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace errbridge::it {

struct Notification {
    std::chrono::steady_clock::time_point at;
    std::string text;  // e.g. "READY=1\nSTATUS=..."
};

class NotifySocket {
  public:
    explicit NotifySocket(std::filesystem::path path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    const std::filesystem::path& path() const { return path_; }

    // Receives until `done(all so far)` holds or the timeout; returns everything received.
    std::vector<Notification> wait_until(
        const std::function<bool(const std::vector<Notification>&)>& done,
        std::chrono::milliseconds timeout);
    // Waits for a message containing `text`; returns it, or nullptr on timeout.
    const Notification* wait_for(const std::string& text, std::chrono::milliseconds timeout);
    const std::vector<Notification>& received() const { return received_; }
    std::size_t count(const std::string& text) const;

  private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<Notification> received_;
};

// Accepts TCP connections into its backlog and never answers: an MQTT broker that never
// sends CONNACK, so the daemon's connect attempt hangs until its own timeout.
class SilentListener {
  public:
    SilentListener();
    ~SilentListener();
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace errbridge::it
