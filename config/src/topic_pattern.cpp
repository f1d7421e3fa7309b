#include "errbridge/config/topic_pattern.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace errbridge::config {
namespace {

bool valid_capture_name(std::string_view name) {
    if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

[[noreturn]] void bad(const std::string& reason) {
    throw std::invalid_argument(reason);
}

PatternLevel parse_level(std::string_view level, bool last) {
    if (level == "+") return {PatternLevel::Kind::plus, "", {}};
    if (level == "**") return {PatternLevel::Kind::any_levels, "", {}};
    if (level == "#") {
        if (!last) bad("'#' must be the last level");
        return {PatternLevel::Kind::hash, "", {}};
    }
    if (level.find_first_of("+#") != std::string_view::npos) {
        bad("'+' and '#' must fill a whole level (in \"" + std::string(level) + "\")");
    }
    if (level.find("**") != std::string_view::npos) {
        bad("'**' must fill a whole level (in \"" + std::string(level) + "\")");
    }
    if (level.find_first_of("{}*") == std::string_view::npos) {
        return {PatternLevel::Kind::literal, std::string(level), {}};
    }
    std::vector<GlobPart> parts;
    std::size_t i = 0;
    while (i < level.size()) {
        char c = level[i];
        if (c == '*') {
            parts.push_back({GlobPart::Kind::star, ""});
            ++i;
        } else if (c == '{') {
            auto close = level.find('}', i);
            if (close == std::string_view::npos)
                bad("unclosed '{' in \"" + std::string(level) + "\"");
            std::string name(level.substr(i + 1, close - i - 1));
            if (!valid_capture_name(name)) {
                bad("capture name \"" + name + "\" must be lower-case letters, digits and _");
            }
            parts.push_back({GlobPart::Kind::capture, name});
            i = close + 1;
        } else if (c == '}') {
            bad("unmatched '}' in \"" + std::string(level) + "\"");
        } else {
            auto next = level.find_first_of("{}*", i);
            if (next == std::string_view::npos) next = level.size();
            parts.push_back({GlobPart::Kind::text, std::string(level.substr(i, next - i))});
            i = next;
        }
    }
    if (std::count_if(parts.begin(), parts.end(),
                      [](const GlobPart& part) { return part.kind != GlobPart::Kind::text; }) > 2) {
        // Three wildcards in one level would make matching quadratic in the level length.
        bad("at most two wildcards per level (in \"" + std::string(level) + "\")");
    }
    for (std::size_t p = 1; p < parts.size(); ++p) {
        if (parts[p].kind != GlobPart::Kind::text && parts[p - 1].kind != GlobPart::Kind::text) {
            bad("two wildcards side by side in \"" + std::string(level) +
                "\" are ambiguous; put literal text between them");
        }
    }
    if (parts.size() == 1 && parts[0].kind == GlobPart::Kind::capture) {
        return {PatternLevel::Kind::capture, parts[0].text, {}};
    }
    return {PatternLevel::Kind::glob, "", std::move(parts)};
}

struct FailureCache;
bool match_level(const std::vector<PatternLevel>& levels, std::size_t p, const TopicLevels& topic,
                 std::size_t t, Captures* captures, FailureCache& cache);

// Remembers (pattern level, topic level) pairs known not to match, so patterns with
// several `**` stay polynomial on topics with many levels. Whether a pair matches does not
// depend on the captures collected before it, so caching failures is exact.
struct FailureCache {
    std::size_t topic_levels = 0;
    std::vector<bool> failed;
    // A `**` that failed from topic level t tried every later start too, so it fails from
    // any t' > t: without this each of its visits rescans the topic (quadratic on a
    // 10,000-level topic).
    std::vector<std::size_t> any_levels_failed_from;
    bool known(std::size_t p, std::size_t t) const {
        return !failed.empty() &&
               (failed[p * (topic_levels + 1) + t] || t >= any_levels_failed_from[p]);
    }
    void remember(std::size_t p, std::size_t t, bool any_levels) {
        if (failed.empty()) return;
        failed[p * (topic_levels + 1) + t] = true;
        if (any_levels) any_levels_failed_from[p] = std::min(any_levels_failed_from[p], t);
    }
};

bool match_levels(const std::vector<PatternLevel>& levels, std::size_t p, const TopicLevels& topic,
                  std::size_t t, Captures* captures, FailureCache& cache) {
    if (p == levels.size()) return t == topic.size();
    if (cache.known(p, t)) return false;
    bool matched = match_level(levels, p, topic, t, captures, cache);
    if (!matched) cache.remember(p, t, levels[p].kind == PatternLevel::Kind::any_levels);
    return matched;
}

bool match_level(const std::vector<PatternLevel>& levels, std::size_t p, const TopicLevels& topic,
                 std::size_t t, Captures* captures, FailureCache& cache) {
    const PatternLevel& level = levels[p];
    switch (level.kind) {
        case PatternLevel::Kind::hash:
            return true;
        case PatternLevel::Kind::any_levels:
            // Consecutive `**` collapse at parse time, so each try advances the pattern.
            for (std::size_t skip = t; skip <= topic.size(); ++skip) {
                std::size_t mark = captures ? captures->size() : 0;
                if (match_levels(levels, p + 1, topic, skip, captures, cache)) return true;
                if (captures) captures->resize(mark);
            }
            return false;
        default:
            break;
    }
    if (t == topic.size()) return false;
    std::string_view value = topic[t];
    std::size_t mark = captures ? captures->size() : 0;
    switch (level.kind) {
        case PatternLevel::Kind::literal:
            if (value != level.text) return false;
            break;
        case PatternLevel::Kind::plus:
            break;
        case PatternLevel::Kind::capture:
            if (captures) captures->emplace_back(level.text, value);
            break;
        case PatternLevel::Kind::glob:
            if (!match_glob(level.parts, value, captures)) return false;
            break;
        default:
            return false;
    }
    if (match_levels(levels, p + 1, topic, t + 1, captures, cache)) return true;
    if (captures) captures->resize(mark);
    return false;
}

}  // namespace

TopicLevels split_levels(std::string_view topic) {
    TopicLevels levels;
    std::size_t start = 0;
    while (true) {
        auto slash = topic.find('/', start);
        if (slash == std::string_view::npos) {
            levels.push_back(topic.substr(start));
            return levels;
        }
        levels.push_back(topic.substr(start, slash - start));
        start = slash + 1;
    }
}

bool match_glob(const std::vector<GlobPart>& parts, std::string_view level, Captures* captures) {
    return match_glob_parts(parts, 0, level, captures);
}

TopicPattern TopicPattern::parse(std::string_view text) {
    if (text.empty()) bad("empty pattern");
    if (text.find('\0') != std::string_view::npos) bad("NUL character in pattern");
    TopicPattern pattern;
    pattern.text_ = std::string(text);
    auto raw = split_levels(text);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        PatternLevel level = parse_level(raw[i], i + 1 == raw.size());
        if (level.kind == PatternLevel::Kind::any_levels && !pattern.levels_.empty() &&
            pattern.levels_.back().kind == PatternLevel::Kind::any_levels) {
            continue;  // `**/**` means the same as `**`
        }
        auto add_name = [&](const std::string& name) {
            if (std::find(pattern.capture_names_.begin(), pattern.capture_names_.end(), name) !=
                pattern.capture_names_.end()) {
                bad("capture {" + name + "} appears twice");
            }
            pattern.capture_names_.push_back(name);
        };
        if (level.kind == PatternLevel::Kind::capture) add_name(level.text);
        for (const auto& part : level.parts) {
            if (part.kind == GlobPart::Kind::capture) add_name(part.text);
        }
        pattern.levels_.push_back(std::move(level));
    }
    pattern.repeated_any_levels_ =
        std::count_if(pattern.levels_.begin(), pattern.levels_.end(),
                      [](const PatternLevel& level) {
                          return level.kind == PatternLevel::Kind::any_levels;
                      }) > 1;
    return pattern;
}

bool TopicPattern::match(std::string_view topic, Captures* captures) const {
    return match(split_levels(topic), captures);
}

bool TopicPattern::match(const TopicLevels& levels, Captures* captures) const {
    if (captures) captures->clear();
    if (!levels.empty() && !levels[0].empty() && levels[0][0] == '$' &&
        levels_[0].kind != PatternLevel::Kind::literal) {
        return false;
    }
    FailureCache cache;
    if (repeated_any_levels_) {
        cache.topic_levels = levels.size();
        cache.failed.assign((levels_.size() + 1) * (levels.size() + 1), false);
        cache.any_levels_failed_from.assign(levels_.size() + 1, SIZE_MAX);
    }
    return match_levels(levels_, 0, levels, 0, captures, cache);
}

std::string TopicPattern::subscription_filter() const {
    std::string filter;
    for (std::size_t i = 0; i < levels_.size(); ++i) {
        if (i) filter += '/';
        const PatternLevel& level = levels_[i];
        if (level.kind == PatternLevel::Kind::literal) {
            filter += level.text;
        } else if (level.kind == PatternLevel::Kind::any_levels ||
                   level.kind == PatternLevel::Kind::hash) {
            filter += '#';
            break;
        } else {
            filter += '+';
        }
    }
    return filter;
}

namespace {

bool is_multi(const PatternLevel& level) {
    return level.kind == PatternLevel::Kind::any_levels || level.kind == PatternLevel::Kind::hash;
}

bool one_level_overlap(const PatternLevel& a, const PatternLevel& b) {
    using Kind = PatternLevel::Kind;
    if (a.kind == Kind::literal && b.kind == Kind::literal) return a.text == b.text;
    if (a.kind == Kind::literal && b.kind == Kind::glob)
        return match_glob(b.parts, a.text, nullptr);
    if (b.kind == Kind::literal && a.kind == Kind::glob)
        return match_glob(a.parts, b.text, nullptr);
    return true;
}

}  // namespace

bool patterns_may_overlap(const TopicPattern& a, const TopicPattern& b) {
    const auto& x = a.levels();
    const auto& y = b.levels();
    // reachable[i][j]: some topic prefix is consumed by x[0..i) and y[0..j) together.
    std::vector<std::vector<bool>> reachable(x.size() + 1, std::vector<bool>(y.size() + 1));
    reachable[0][0] = true;
    for (std::size_t i = 0; i <= x.size(); ++i) {
        for (std::size_t j = 0; j <= y.size(); ++j) {
            if (!reachable[i][j]) continue;
            bool x_multi = i < x.size() && is_multi(x[i]);
            bool y_multi = j < y.size() && is_multi(y[j]);
            if (x_multi) reachable[i + 1][j] = true;  // matches zero levels
            if (y_multi) reachable[i][j + 1] = true;
            if (i < x.size() && j < y.size()) {
                if (x_multi && y_multi) {
                    reachable[i + 1][j + 1] = true;
                } else if (x_multi) {
                    reachable[i][j + 1] = true;  // x's multi absorbs y's level
                } else if (y_multi) {
                    reachable[i + 1][j] = true;
                } else if (one_level_overlap(x[i], y[j])) {
                    reachable[i + 1][j + 1] = true;
                }
            }
        }
    }
    return reachable[x.size()][y.size()];
}

}  // namespace errbridge::config
