#pragma once

// A minimal HTTP/1.1 client for scraping the daemon's /metrics and /healthz: one request
// per connection on loopback, read until the server closes (it answers Connection: close).

#include <chrono>
#include <map>
#include <string>

namespace errbridge::it {

struct HttpReply {
    int status = 0;                              // 0: no status line came back
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
};

// Throws std::runtime_error when nothing listens on the port.
HttpReply http_request(int port, const std::string& method, const std::string& target,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Sends `bytes` as they are and returns what came back before the server closed.
std::string http_raw(int port, const std::string& bytes,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

HttpReply parse_http_reply(const std::string& raw);

// A connected loopback TCP socket (closed at scope exit), for clients that misbehave.
class RawConnection {
  public:
    explicit RawConnection(int port);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;
    void send(const std::string& bytes);
    // True when the peer closed the connection within `timeout` (recv returned 0 or reset).
    bool closed_by_peer(std::chrono::milliseconds timeout);

  private:
    int fd_ = -1;
};

}  // namespace errbridge::it
