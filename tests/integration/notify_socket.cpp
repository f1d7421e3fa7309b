#include "notify_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace errbridge::it {

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.string().size() >= sizeof(address.sun_path))
        throw std::runtime_error("socket path too long: " + path_.string());
    std::strcpy(address.sun_path, path_.c_str());
    std::filesystem::remove(path_);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        throw std::runtime_error("cannot bind " + path_.string() + ": " + std::strerror(errno));
    }
}

NotifySocket::~NotifySocket() {
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

std::vector<Notification> NotifySocket::wait_until(
    const std::function<bool(const std::vector<Notification>&)>& done,
    std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(received_)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buffer[4096];
        ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
        if (n > 0) {
            received_.push_back({std::chrono::steady_clock::now(),
                                 std::string(buffer, static_cast<std::size_t>(n))});
        }
    }
    return received_;
}

const Notification* NotifySocket::wait_for(const std::string& text,
                                           std::chrono::milliseconds timeout) {
    auto has = [&](const std::vector<Notification>& all) {
        for (const auto& n : all) {
            if (n.text.find(text) != std::string::npos) return true;
        }
        return false;
    };
    wait_until(has, timeout);
    for (const auto& n : received_) {
        if (n.text.find(text) != std::string::npos) return &n;
    }
    return nullptr;
}

std::size_t NotifySocket::count(const std::string& text) const {
    std::size_t found = 0;
    for (const auto& n : received_)
        found += n.text.find(text) != std::string::npos;
    return found;
}

SilentListener::SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd_, 16) != 0) {
        throw std::runtime_error(std::string("cannot listen: ") + std::strerror(errno));
    }
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
}

SilentListener::~SilentListener() {
    ::close(fd_);
}

}  // namespace errbridge::it
