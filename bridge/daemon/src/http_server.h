#pragma once

// /metrics and /healthz over HTTP/1.1 (Boost.Beast) on the daemon's io_context: single
// threaded and asynchronous, one request per connection (Connection: close). Everything a
// client can make us hold is bounded: request headers 8 KiB, body 1 KiB, 5 s to send the
// request and 5 s to take the answer, 16 connections at once. What to answer is
// answer_http (http_routes.h); this file only moves bytes.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "errbridge/daemon/http_routes.h"
#include "errbridge/daemon/log.h"

namespace errbridge::daemon {

// Names the address and the reason: `127.0.0.1:9102: Address already in use`.
class HttpListenError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class HttpServer {
  public:
    HttpServer(boost::asio::io_context& io, Logger& log, HttpEndpoints endpoints);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds `address` and starts accepting; throws HttpListenError. Calling it again (a
    // reload with a new metrics.listen) binds the new address before closing the old one,
    // so when the new one fails the old listener keeps serving.
    void listen(const std::string& address);
    // Stops accepting; requests already being answered finish.
    void close();
    // The bound address (`127.0.0.1:9102`, `[::1]:9102`); empty when not listening.
    const std::string& address() const { return address_; }

    struct Shared;  // endpoints and the connection count, shared with open connections

  private:
    void accept();

    boost::asio::io_context& io_;
    Logger& log_;
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
    boost::asio::steady_timer retry_timer_;
    std::uint64_t generation_ = 0;  // bumped by close(): handlers of an older acceptor stop
    std::string address_;
    LogThrottle throttle_{5, std::chrono::seconds(60)};
};

}  // namespace errbridge::daemon
