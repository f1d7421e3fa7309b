#include "http_server.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace errbridge::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* component = "metrics";
constexpr std::uint32_t max_header_bytes = 8 * 1024;
constexpr std::uint64_t max_body_bytes = 1024;
constexpr std::chrono::seconds io_timeout{5};
constexpr std::size_t max_connections = 16;
// After a failed accept (EMFILE, ENOBUFS) wait a little rather than spin on the error.
constexpr std::chrono::milliseconds accept_retry{100};

std::string format_endpoint(const tcp::endpoint& endpoint) {
    std::string host = endpoint.address().to_string();
    if (endpoint.address().is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(endpoint.port());
}

std::string_view view(beast::string_view text) {
    return {text.data(), text.size()};
}

}  // namespace

struct HttpServer::Shared {
    HttpEndpoints endpoints;
    std::size_t open = 0;
};

namespace {

// One request, one answer, then close. Owned by the handlers in flight (shared_ptr).
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
        : stream_(std::move(socket)), shared_(std::move(shared)) {
        ++shared_->open;
    }
    ~Connection() { --shared_->open; }

    void start() {
        parser_.header_limit(max_header_bytes);
        parser_.body_limit(max_body_bytes);
        stream_.expires_after(io_timeout);
        http::async_read(
            stream_, buffer_, parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

  private:
    void on_read(beast::error_code ec) {
        // A client that went away or never finished its request gets nothing.
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
            return;
        }
        if (ec) {
            respond({400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n", {}},
                    11);
            return;
        }
        const auto& request = parser_.get();
        respond(
            answer_http(view(request.method_string()), view(request.target()), shared_->endpoints),
            request.version());
    }

    void respond(HttpAnswer answer, unsigned version) {
        response_.version(version);
        response_.result(answer.status);
        response_.set(http::field::server, "errbridge");
        response_.set(http::field::content_type, answer.content_type);
        if (!answer.allow.empty()) response_.set(http::field::allow, answer.allow);
        response_.keep_alive(false);
        response_.body() = std::move(answer.body);
        response_.prepare_payload();
        stream_.expires_after(io_timeout);
        http::async_write(stream_, response_,
                          [self = shared_from_this()](beast::error_code, std::size_t) {
                              beast::error_code ignored;
                              self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{max_header_bytes + max_body_bytes};
    http::request_parser<http::string_body> parser_;
    http::response<http::string_body> response_;
    std::shared_ptr<HttpServer::Shared> shared_;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, Logger& log, HttpEndpoints endpoints)
    : io_(io), log_(log), shared_(std::make_shared<Shared>()), retry_timer_(io) {
    shared_->endpoints = std::move(endpoints);
}

HttpServer::~HttpServer() {
    close();
}

void HttpServer::listen(const std::string& address) {
    auto parsed = parse_listen_address(address);
    if (!parsed) throw HttpListenError(address + ": expected host:port");
    auto fail = [&](const boost::system::error_code& ec) {
        throw HttpListenError(address + ": " + ec.message());
    };
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(parsed->host, parsed->port,
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) fail(ec);
    if (results.empty()) throw HttpListenError(address + ": the host resolves to no address");
    const tcp::endpoint endpoint = results.begin()->endpoint();

    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    if (acceptor->open(endpoint.protocol(), ec)) fail(ec);
    // Lets a restart bind while the old process's connections sit in TIME_WAIT; a port
    // another process listens on still fails (Linux needs SO_REUSEPORT for that).
    if (acceptor->set_option(tcp::acceptor::reuse_address(true), ec)) fail(ec);
    if (acceptor->bind(endpoint, ec)) fail(ec);
    if (acceptor->listen(tcp::socket::max_listen_connections, ec)) fail(ec);

    close();
    acceptor_ = std::move(acceptor);
    address_ = format_endpoint(acceptor_->local_endpoint(ec));
    log_.info(component, "listening", {{"address", address_}, {"paths", "/metrics,/healthz"}});
    accept();
}

void HttpServer::close() {
    ++generation_;
    retry_timer_.cancel();
    if (acceptor_) {
        boost::system::error_code ignored;
        acceptor_->close(ignored);
        acceptor_.reset();
    }
    address_.clear();
}

void HttpServer::accept() {
    acceptor_->async_accept([this, generation = generation_](const boost::system::error_code& ec,
                                                             tcp::socket socket) {
        // A replaced or closed acceptor: its loop ends here, the new one runs its own.
        if (generation != generation_ || ec == asio::error::operation_aborted) return;
        if (ec) {
            auto decision = throttle_.admit("accept", LogThrottle::Clock::now());
            if (decision.log) log_.warning(component, "accept failed", {{"error", ec.message()}});
            retry_timer_.expires_after(accept_retry);
            retry_timer_.async_wait([this, generation](const boost::system::error_code& timer_ec) {
                if (!timer_ec && generation == generation_) accept();
            });
            return;
        }
        if (shared_->open >= max_connections) {
            boost::system::error_code ignored;
            socket.close(ignored);  // scrapers retry; a flood must not cost memory
        } else {
            std::make_shared<Connection>(std::move(socket), shared_)->start();
        }
        accept();
    });
}

}  // namespace errbridge::daemon
