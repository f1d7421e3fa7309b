#pragma once

// What a storm-suppression summary needs of its key's first event (SPEC §6: a summary has
// that event's fields), kept per open key in whichever of two forms is smaller:
// - the message it came from: topic, payload, the time it was decoded at and the decoder
//   that did it. Decoding is pure and deterministic, so at window end the event comes back
//   byte for byte. A 150-byte Alink reply costs ~200 bytes instead of its ~1.2 KB event
//   (catalog message and fix, context, the raw copy).
// - the event itself, when the message is larger (a payload beyond output.raw_max_bytes,
//   whose event carries only a cut copy): so a key never costs more than its event.
// Holding the decoder keeps a reloaded-away config alive until its last window ends.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "errbridge/core/decode.h"

namespace errbridge::core {

// The message a DecodeResult was decoded from.
struct Origin {
    const std::shared_ptr<const Decoder>& decoder;
    std::string_view topic;
    std::string_view payload;
    std::int64_t now_ms;
};

class FirstEvent {
  public:
    FirstEvent() = default;
    // `p` is publication `index` of the DecodeResult of `origin`; `event` its payload.
    FirstEvent(const Origin& origin, std::size_t index, const Publication& p,
               std::string_view event);

    // The event's topic, payload and MQTT 5 user properties.
    struct Restored {
        std::string_view topic;
        std::string_view payload;
        std::string_view vendor;
        std::string_view code;
        std::string_view severity;
    };
    // Views into this object, or into `scratch` when the message is decoded again. False
    // when decoding again does not give back an event with `key` (it always should).
    bool restore(std::uint64_t key, DecodeResult& scratch, Restored& out) const;

    bool kept_as_message() const { return decoder_ != nullptr; }

  private:
    std::string_view part(std::size_t i) const {
        std::uint32_t begin = i == 0 ? 0 : ends_[i - 1];
        return std::string_view(bytes_).substr(begin, ends_[i] - begin);
    }

    std::shared_ptr<const Decoder> decoder_;  // set: kept as the message
    // As the message: topic, payload. As the event: topic, event, vendor, code, severity.
    std::string bytes_;  // one allocation
    std::uint32_t ends_[5] = {};
    std::uint32_t index_ = 0;
    std::int64_t now_ms_ = 0;
};

}  // namespace errbridge::core
