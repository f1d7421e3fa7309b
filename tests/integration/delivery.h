#pragma once

// What the delivery tests share: the Alink stream they send, the daemon config they run,
// and the counting of what came out (sent / delivered / lost / duplicated by event id).

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fixtures.h"

namespace errbridge::it {

inline const std::string alink_topic = "/sys/a1X2/pump-7/thing/event/property/post_reply";

// An Alink error reply whose request id is `id`: each one decodes to a distinct event id.
std::string alink_reply(std::size_t id, int code = 6207);

// Publishes the replies with request ids first .. first + count - 1 from a fresh client
// `client_id`, at most `window` unacknowledged; returns how many the broker acknowledged.
std::size_t publish_alink(const std::string& uri, std::size_t first, std::size_t count,
                          std::size_t window, const std::string& client_id = "device");

// Returns once `count()` has stayed the same for three looks a second apart: the stream
// has stopped moving.
void wait_until_quiet(const std::function<std::size_t()>& count);

// `extra` goes into [broker]. Suppression is off: these are delivery and loss tests, and
// their streams repeat one device and code (SPEC §8: loss tests set window_s = 0).
std::string delivery_config(const Mosquitto& broker, const TempDir& dir,
                            const std::string& extra = "");

struct Tally {
    std::size_t sent = 0, delivered = 0, lost = 0, duplicated = 0;
};

// Counts distinct event ids against what was sent (request ids 0 .. sent - 1), prints
// `sent / delivered / lost / duplicated` and names the first missing request ids, which is
// where a loss investigation starts. A payload that is not an event is counted as damaged.
Tally tally(std::size_t sent, const std::vector<Received>& events);

// Distinct event ids among the events seen so far, parsing each event once: a wait
// predicate runs on every arrival and must not parse everything again.
class DistinctIds {
  public:
    std::size_t update(const std::vector<Received>& events);
    std::size_t size() const { return ids_.size(); }

  private:
    std::set<std::string> ids_;
    std::size_t parsed_ = 0;
};

// Waits until `sink` has `count` distinct events (or the timeout); returns every event.
std::vector<Received> wait_distinct(TestClient& sink, std::size_t count,
                                    std::chrono::milliseconds timeout);

}  // namespace errbridge::it
