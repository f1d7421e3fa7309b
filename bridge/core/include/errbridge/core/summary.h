#pragma once

// The storm-suppression summary (SPEC §6, §8): the key's first event with a new `id` and
// `ts`, `repeats` > 0 and the `first_ts`/`last_ts` of the suppressed events. Written by
// editing the stored event in place, so a summary never disagrees with its first event.

#include <cstdint>
#include <string>
#include <string_view>

#include "errbridge/core/suppression.h"

namespace errbridge::core {

// FNV-1a-64 over the key and the window start (SPEC §6): stable for a window, distinct
// for the next window of the same key.
std::uint64_t summary_id(std::uint64_t key, std::int64_t window_start_ms);

// Writes the summary of `summary`, whose first event is `first_event` (FirstEvent::restore),
// into `out` (replacing its content), `now_ms` being when it is published. False when
// `first_event` is not an event this version wrote (then `out` is unspecified): never
// publish a half-edited event.
bool write_summary(std::string_view first_event, const Summary& summary, std::int64_t now_ms,
                   std::string& out);

}  // namespace errbridge::core
