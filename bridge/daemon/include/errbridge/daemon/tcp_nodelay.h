#pragma once

// TCP_NODELAY on the broker connection. Paho C 1.3.12 never sets it and does not expose its
// socket (paho.mqtt.c#530); without it a small publish written while the previous one is
// unacknowledged waits for the broker's delayed ACK (the 40 ms outliers of SPEC §10). So
// after every (re)connect we find the socket ourselves: each descriptor in /proc/self/fd
// that is a TCP socket whose peer is the broker's address.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errbridge::daemon {

struct BrokerEndpoint {
    std::string host;  // without IPv6 brackets
    int port = 0;
};

// `tcp://h:1883`, `ssl://h`, `ws://[::1]:8080/mqtt` -> host and port (scheme defaults:
// 1883 tcp/mqtt, 8883 ssl/mqtts, 80 ws, 443 wss). nullopt for anything else.
std::optional<BrokerEndpoint> parse_broker_endpoint(std::string_view uri);

struct NodelayResult {
    int sockets_set = 0;  // sockets to the broker that now have TCP_NODELAY
    std::string problem;  // why none could be set, when sockets_set == 0
};

// Sets TCP_NODELAY on every socket of this process connected to `endpoint` (resolved
// with getaddrinfo, so a host name works too).
NodelayResult set_nodelay_towards(const BrokerEndpoint& endpoint);

// For tests: whether `fd` has TCP_NODELAY.
bool has_nodelay(int fd);

}  // namespace errbridge::daemon
