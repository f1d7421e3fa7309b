#pragma once

// Topic patterns (SPEC §4), level by level:
//   literal · `+` one level · `{name}` one captured level · `pre{name}*post` a level glob
//   with captures and `*` (never crossing `/`) · `**` zero or more levels anywhere ·
//   `#` zero or more levels, last only.
// Topics whose first level starts with `$` match only patterns with a literal first level.

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace errbridge::config {

// One piece of a glob level: literal text, `*`, or a `{name}` capture.
struct GlobPart {
    enum class Kind { text, star, capture };
    Kind kind;
    std::string text;  // literal text or the capture name
};

struct PatternLevel {
    enum class Kind { literal, plus, capture, glob, any_levels, hash };
    Kind kind;
    std::string text;             // literal text, or the capture name of a whole level
    std::vector<GlobPart> parts;  // glob levels only
};

using Captures = std::vector<std::pair<std::string, std::string>>;

// A topic's levels as views into it; inline storage covers real topics without allocating.
using TopicLevels = boost::container::small_vector<std::string_view, 16>;

class TopicPattern {
  public:
    // Throws std::invalid_argument with a one-line reason on a malformed pattern.
    static TopicPattern parse(std::string_view text);

    const std::string& text() const { return text_; }
    const std::vector<PatternLevel>& levels() const { return levels_; }
    const std::vector<std::string>& capture_names() const { return capture_names_; }

    // Whether `topic` matches; fills `captures` (cleared first) when given.
    bool match(std::string_view topic, Captures* captures = nullptr) const;
    // The same on a topic already split by split_levels.
    bool match(const TopicLevels& topic, Captures* captures) const;

    // The MQTT subscription filter: captures and globs become `+`, everything from the
    // first `**` on becomes `#`.
    std::string subscription_filter() const;

  private:
    std::string text_;
    std::vector<PatternLevel> levels_;
    std::vector<std::string> capture_names_;
    bool repeated_any_levels_ = false;  // two `**`: matching needs the failure cache
};

// Whether some topic could match both patterns (conservative where two globs meet).
bool patterns_may_overlap(const TopicPattern& a, const TopicPattern& b);

// Splits a topic into levels without copying.
TopicLevels split_levels(std::string_view topic);

// Matches one level against a glob; appends captures on success.
bool match_glob(const std::vector<GlobPart>& parts, std::string_view level, Captures* captures);

// match_glob for any capture list with size(), emplace_back(name, value) and resize(): the
// decoder collects views into the topic where match_glob collects strings, and both must
// capture the same spans. Matches `rest` against parts[p...].
template <class CaptureList>
bool match_glob_parts(const std::vector<GlobPart>& parts, std::size_t p, std::string_view rest,
                      CaptureList* captures) {
    if (p == parts.size()) return rest.empty();
    const GlobPart& part = parts[p];
    if (part.kind == GlobPart::Kind::text) {
        if (rest.substr(0, part.text.size()) != part.text) return false;
        return match_glob_parts(parts, p + 1, rest.substr(part.text.size()), captures);
    }
    // A wildcard is followed by literal text (or ends the level). When nothing but that
    // text follows, its span is fixed, which keeps the common `{service}_reply` linear.
    std::size_t first = 0;
    std::size_t last = rest.size();
    if (p + 1 == parts.size()) {
        first = rest.size();
    } else if (p + 2 == parts.size()) {
        const std::string& tail = parts[p + 1].text;
        if (tail.size() > rest.size()) return false;
        first = last = rest.size() - tail.size();
    }
    // Otherwise shortest span first, so `{a}_{b}_x` on `p_q_r_x` captures a = "p".
    for (std::size_t n = first; n <= last; ++n) {
        std::size_t mark = captures ? captures->size() : 0;
        if (captures && part.kind == GlobPart::Kind::capture) {
            captures->emplace_back(part.text, rest.substr(0, n));
        }
        if (match_glob_parts(parts, p + 1, rest.substr(n), captures)) return true;
        if (captures) captures->resize(mark);
    }
    return false;
}

}  // namespace errbridge::config
