#pragma once

// Topic patterns (SPEC §4), level by level:
//   literal · `+` one level · `{name}` one captured level · `pre{name}*post` a level glob
//   with captures and `*` (never crossing `/`) · `**` zero or more levels anywhere ·
//   `#` zero or more levels, last only.
// Topics whose first level starts with `$` match only patterns with a literal first level.

#include <boost/container/small_vector.hpp>
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

}  // namespace errbridge::config
