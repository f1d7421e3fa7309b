#pragma once

// The pure decode path: (config, topic, payload bytes, now) -> events and dead letters,
// written into a caller-owned result that is reused between messages. No I/O, no globals,
// no MQTT: the daemon, the tests, the fuzzer and the benchmarks all call this.

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errbridge/config/load.h"

namespace errbridge::core {

namespace detail {
struct Scratch;
struct ScratchDelete {
    void operator()(Scratch* scratch) const;
};
}  // namespace detail

// SPEC §7, in the order the checks run.
enum class DeadLetterReason {
    too_large,
    bad_utf8,
    doctype,
    too_deep,
    not_json,
    not_xml,
    not_object,
    duplicate_key,
    bad_code,
    no_code,
};
std::string_view to_string(DeadLetterReason reason);

struct Publication {
    enum class Kind { error, success, dead_letter };
    Kind kind = Kind::error;
    std::string topic;
    std::size_t payload_offset = 0;  // into DecodeResult::buffer
    std::size_t payload_size = 0;
    // For MQTT 5 user properties and metrics labels (bounded values only).
    std::string_view vendor;
    std::string code;
    std::string_view severity;
    std::string_view category;
    bool known = false;
    // Storm suppression (SPEC §8): a hash of (vendor, the whole device object, code,
    // context.tag). Two events share it exactly when they share that key (barring a 64-bit
    // collision); 0 on dead letters, which are never suppressed.
    std::uint64_t suppression_key = 0;
};

// The publications' payload bytes. Grow-only: clear() keeps the memory, and the event writer
// stores into room past size() directly (std::string would zero-fill every resize first, and
// writing elsewhere first costs a second copy of each ~1 KB event).
class OutputBuffer {
  public:
    const char* data() const { return bytes_.data(); }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::string_view view() const { return {bytes_.data(), size_}; }
    void clear() { size_ = 0; }
    void append(std::string_view text) {
        char* at = room(text.size());
        if (!text.empty()) std::memcpy(at, text.data(), text.size());
        size_ += text.size();
    }
    // At least `n` writable bytes at data() + size(); what is written there counts once
    // resize() says so.
    char* room(std::size_t n) {
        if (bytes_.size() - size_ < n) grow(n);
        return bytes_.data() + size_;
    }
    std::size_t capacity() const { return bytes_.size(); }
    char* storage() { return bytes_.data(); }
    void resize(std::size_t size) { size_ = size; }  // at most capacity()

    friend bool operator==(const OutputBuffer& a, const OutputBuffer& b) {
        return a.view() == b.view();
    }

  private:
    void grow(std::size_t n);
    std::vector<char> bytes_;
    std::size_t size_ = 0;
};

struct DecodeResult {
    enum class Status {
        unrouted,     // no route matches the topic
        empty,        // empty payload (a cleared retained message): counted only
        no_code,      // well-formed, no code, no failure flag: counted only
        success,      // success reply (published only with output.emit_success)
        events,       // one or more error events
        dead_letter,  // exactly one dead letter (published unless invalid_topic is "")
    };
    Status status = Status::unrouted;
    std::optional<std::size_t> route;
    std::optional<DeadLetterReason> reason;
    std::string detail;  // why, for dead letters (also logged)
    std::size_t unknown_codes = 0;
    std::vector<Publication> publications;  // only the first `count` are valid
    std::size_t count = 0;
    OutputBuffer buffer;  // every publication's payload, back to back

    // Reused between messages so a steady stream allocates nothing new: the route match,
    // the parsers' buffers, the extraction and the `ts` text cached per second. Created by
    // the first decode.
    std::unique_ptr<detail::Scratch, detail::ScratchDelete> scratch;

    std::string_view payload(const Publication& p) const {
        return buffer.view().substr(p.payload_offset, p.payload_size);
    }
    void reset();
    Publication& add();
};

// A payload with more codes (after sub-device fan-out) is a `too_large` dead letter.
inline constexpr std::size_t max_codes_per_payload = 1000;

class Decoder {
  public:
    explicit Decoder(std::shared_ptr<const config::LoadedConfig> config);
    ~Decoder();
    Decoder(Decoder&&) noexcept;
    Decoder& operator=(Decoder&&) noexcept;

    // `now_ms`: milliseconds since the Unix epoch, for `ts`.
    void decode(std::string_view topic, std::string_view payload, std::int64_t now_ms,
                DecodeResult& result) const;

    const config::LoadedConfig& config() const { return *config_; }

  private:
    struct Compiled;
    std::shared_ptr<const config::LoadedConfig> config_;
    std::unique_ptr<Compiled> compiled_;
};

// Helpers of the event format, public for tests.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL);
std::string format_timestamp(std::int64_t now_ms);  // 2026-11-22T10:15:02.123Z
bool valid_utf8(std::string_view bytes);            // strict; NUL is invalid here
// The longest prefix of at most `max` bytes that ends on a code-point boundary.
std::size_t utf8_prefix(std::string_view text, std::size_t max);

}  // namespace errbridge::core
