#pragma once

#include <mqtt/connect_options.h>

namespace errbridge::daemon {

// Sets Paho C's in-session retry interval, which mqttpp 1.2 has no setter for.
//
// Why we need it: Paho C 1.3.12 resends in-flight publishes after a reconnect only until
// the socket's send buffer is full, and never again (MQTTProtocol_retries stops at the
// first pending write, and in-session retries are off by default). Under load a kill -9
// test lost one event in a thousand that way: restored from file persistence, given its
// message id, never put on the wire. With an interval, Paho resends whatever is still
// unacknowledged after it; the cost is a duplicate at worst.
void set_in_session_retry(mqtt::connect_options& options, int seconds);

}  // namespace errbridge::daemon
