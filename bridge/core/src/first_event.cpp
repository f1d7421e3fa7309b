#include "errbridge/core/first_event.h"

#include <initializer_list>

namespace errbridge::core {

namespace {

void pack(std::string& bytes, std::uint32_t* ends, std::initializer_list<std::string_view> parts) {
    std::size_t total = 0;
    for (auto part : parts)
        total += part.size();
    bytes.reserve(total);  // exactly one allocation, no slack
    for (auto part : parts) {
        bytes += part;
        *ends++ = static_cast<std::uint32_t>(bytes.size());
    }
}

}  // namespace

FirstEvent::FirstEvent(const Origin& origin, std::size_t index, const Publication& p,
                       std::string_view event) {
    if (origin.topic.size() + origin.payload.size() <= event.size()) {
        decoder_ = origin.decoder;
        index_ = static_cast<std::uint32_t>(index);
        now_ms_ = origin.now_ms;
        pack(bytes_, ends_, {origin.topic, origin.payload});
    } else {
        pack(bytes_, ends_, {p.topic, event, p.vendor, p.code, p.severity});
    }
}

bool FirstEvent::restore(std::uint64_t key, DecodeResult& scratch, Restored& out) const {
    if (!decoder_) {
        out = {part(0), part(1), part(2), part(3), part(4)};
        return true;
    }
    decoder_->decode(part(0), part(1), now_ms_, scratch);
    if (index_ >= scratch.count) return false;
    const Publication& p = scratch.publications[index_];
    if (p.suppression_key != key) return false;
    out = {p.topic, scratch.payload(p), p.vendor, p.code, p.severity};
    return true;
}

}  // namespace errbridge::core
