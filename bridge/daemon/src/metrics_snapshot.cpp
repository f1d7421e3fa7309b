#include "errbridge/daemon/counters.h"
#include "errbridge/daemon/metrics.h"

namespace errbridge::daemon {

MetricsSnapshot take_snapshot(const Counters& c) {
    MetricsSnapshot s;
    s.messages_received = c.messages_received.snapshot();
    s.events_published = c.events_published.snapshot();
    s.dead_letters = c.dead_letters.snapshot();
    s.unknown_codes = c.unknown_codes.snapshot();
    s.no_code = c.no_code.snapshot();
    s.suppressed = c.suppressed.snapshot();
    s.empty_payloads = c.empty_payloads.load();
    s.unrouted = c.unrouted.load();
    s.summaries_published = c.summaries_published.load();
    s.buffer_overflow = c.buffer_overflow.load();
    s.sessions_lost = c.sessions_lost.load();
    s.persist_errors = c.persist_errors.load();
    s.stale_reconnects = c.stale_reconnects.load();
    s.reconnects = c.reconnects.load();
    s.publish_errors = c.publish_errors.load();
    s.republished = c.republished.load();
    s.handler_errors = c.handler_errors.load();
    s.broker_connected = c.broker_connected.load();
    s.buffered_events = c.buffered_events.load();
    s.suppression_keys = c.suppression_keys.load();
    s.decode_seconds = c.decode_seconds.snapshot();
    return s;
}

}  // namespace errbridge::daemon
