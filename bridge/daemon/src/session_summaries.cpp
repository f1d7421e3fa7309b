// Session, the storm-suppression side (SPEC §8): summaries go out like events, through the
// same bounded publish, with the key's first event's topic and user properties.

#include <chrono>

#include "errbridge/core/summary.h"
#include "session.h"

namespace errbridge::daemon {

void Session::publish_summaries(std::vector<core::Summary>& due, core::DecodeResult& scratch) {
    const config::OutputConfig& out = decoder_.load()->config().config.output;
    std::string json;
    core::Publication p;
    for (const core::Summary& s : due) {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        core::FirstEvent::Restored first;
        if (!s.first.restore(s.key, scratch, first) ||
            !core::write_summary(first.payload, s, now, json)) {
            ++counters_.handler_errors;
            warn_throttled("summary", "cannot write a summary: its first event did not come back",
                           {{"repeats", std::to_string(s.repeats)}});
            continue;
        }
        p.topic.assign(first.topic);
        p.vendor = first.vendor;
        p.code.assign(first.code);
        p.severity = first.severity;
        if (publish(p, json, out.qos, out.retain)) ++counters_.summaries_published;
    }
    due.clear();
}

}  // namespace errbridge::daemon
