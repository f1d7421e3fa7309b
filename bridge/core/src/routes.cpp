#include "routes.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace errbridge::core::detail {

using config::GlobPart;
using config::PatternLevel;

namespace {

// The first 8 bytes of `text` (zero-padded) as a big-endian number, so that comparing two
// of them compares the bytes in order. Reads only within `text`.
std::uint64_t prefix_key(std::string_view text) {
    unsigned char bytes[8] = {};
    std::size_t n = std::min<std::size_t>(text.size(), 8);
    if (n == 8) {
        std::memcpy(bytes, text.data(), 8);
    } else if (n >= 4) {
        std::memcpy(bytes, text.data(), 4);
        std::memcpy(bytes + n - 4, text.data() + n - 4, 4);
    } else if (n > 0) {
        bytes[0] = static_cast<unsigned char>(text[0]);
        bytes[n / 2] = static_cast<unsigned char>(text[n / 2]);
        bytes[n - 1] = static_cast<unsigned char>(text[n - 1]);
    }
    std::uint64_t key;
    std::memcpy(&key, bytes, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return key;
#else
    return __builtin_bswap64(key);
#endif
}

// Literal order: length, first 8 bytes, then the rest.
template <typename Literal>
int compare(const Literal& literal, std::size_t size, std::uint64_t prefix, std::string_view text) {
    if (literal.size != size) return literal.size < size ? -1 : 1;
    if (literal.prefix != prefix) return literal.prefix < prefix ? -1 : 1;
    if (size <= 8) return 0;
    return std::memcmp(literal.text.data() + 8, text.data() + 8, size - 8);
}

bool same_parts(const std::vector<GlobPart>& a, const std::vector<GlobPart>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        // Capture names do not change what matches; captures are read per route afterwards.
        return x.kind == y.kind && (x.kind != GlobPart::Kind::text || x.text == y.text);
    });
}

// config::match_glob's captures as views (the same spans: a wildcard before the last text
// part has a fixed span, otherwise the shortest span that lets the rest match).
bool glob_captures(const std::vector<GlobPart>& parts, std::size_t p, std::string_view rest,
                   CaptureViews& captures) {
    if (p == parts.size()) return rest.empty();
    const GlobPart& part = parts[p];
    if (part.kind == GlobPart::Kind::text) {
        if (rest.substr(0, part.text.size()) != part.text) return false;
        return glob_captures(parts, p + 1, rest.substr(part.text.size()), captures);
    }
    std::size_t first = 0;
    std::size_t last = rest.size();
    if (p + 1 == parts.size()) {
        first = rest.size();
    } else if (p + 2 == parts.size()) {
        const std::string& tail = parts[p + 1].text;
        if (tail.size() > rest.size()) return false;
        first = last = rest.size() - tail.size();
    }
    for (std::size_t n = first; n <= last; ++n) {
        std::size_t mark = captures.size();
        if (part.kind == GlobPart::Kind::capture)
            captures.emplace_back(part.text, rest.substr(0, n));
        if (glob_captures(parts, p + 1, rest.substr(n), captures)) return true;
        captures.resize(mark);
    }
    return false;
}

}  // namespace

struct RouteMatcher::Search {
    const std::vector<std::string_view>& topic;
    std::vector<bool>& visited;
    std::vector<std::size_t>& any_levels_from;
    std::uint32_t best = none;
};

RouteMatcher::RouteMatcher(const std::vector<config::TopicPattern>& patterns)
    : patterns_(&patterns) {
    nodes_.emplace_back();
    for (std::uint32_t route = 0; route < patterns.size(); ++route) {
        const auto& levels = patterns[route].levels();
        Alignment alignment;
        std::size_t any_levels = 0;
        bool hash = false;
        for (std::size_t i = 0; i < levels.size(); ++i) {
            const PatternLevel& level = levels[i];
            if (level.kind == PatternLevel::Kind::any_levels) {
                ++any_levels;
                alignment.any_levels = i;
            }
            if (level.kind == PatternLevel::Kind::hash) hash = true;
            bool captures =
                level.kind == PatternLevel::Kind::capture ||
                std::any_of(level.parts.begin(), level.parts.end(),
                            [](const auto& part) { return part.kind == GlobPart::Kind::capture; });
            if (captures) alignment.capturing.push_back(i);
        }
        alignment.by_pattern = any_levels > 1 || (any_levels == 1 && hash);
        alignments_.push_back(alignment);

        // The trie, as config::RouteTable builds it.
        std::uint32_t node = 0;
        nodes_[node].best_below = std::min(nodes_[node].best_below, route);
        for (const auto& level : levels) {
            if (level.kind == PatternLevel::Kind::hash) {
                nodes_[node].hash_here = std::min(nodes_[node].hash_here, route);
                break;
            }
            node = child(node, level);
            nodes_[node].best_below = std::min(nodes_[node].best_below, route);
        }
        if (levels.back().kind != PatternLevel::Kind::hash) {
            nodes_[node].ends_here = std::min(nodes_[node].ends_here, route);
        }
        if (any_levels > 1) repeated_any_levels_ = true;
    }
    bound_levels(0);
}

// With one wildcard the span is fixed: the level is the prefix, anything, the suffix.
bool RouteMatcher::Glob::matches(std::string_view level) const {
    if (!simple) return config::match_glob(*parts, level, nullptr);
    return level.size() >= prefix.size() + suffix.size() &&
           level.compare(0, prefix.size(), prefix) == 0 &&
           level.compare(level.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Fills min_levels and max_levels of `node` and its subtree.
void RouteMatcher::bound_levels(std::uint32_t node) {
    std::size_t lo = SIZE_MAX;
    std::size_t hi = 0;
    auto take = [&](std::size_t child_lo, std::size_t child_hi, bool consumes_one) {
        if (child_lo == SIZE_MAX) return;  // matches nothing
        lo = std::min(lo, child_lo + (consumes_one ? 1 : 0));
        hi = std::max(hi, child_hi == SIZE_MAX ? SIZE_MAX : child_hi + (consumes_one ? 1 : 0));
    };
    if (nodes_[node].ends_here != none) take(0, 0, false);
    if (nodes_[node].hash_here != none) take(0, SIZE_MAX, false);
    std::vector<std::uint32_t> one_level;
    for (const auto& literal : nodes_[node].literals)
        one_level.push_back(literal.child);
    if (nodes_[node].any_one != none) one_level.push_back(nodes_[node].any_one);
    for (const auto& [glob, id] : nodes_[node].globs)
        one_level.push_back(id);
    for (std::uint32_t id : one_level) {
        bound_levels(id);
        take(nodes_[id].min_levels, nodes_[id].max_levels, true);
    }
    if (std::uint32_t id = nodes_[node].any_levels; id != none) {
        bound_levels(id);
        take(nodes_[id].min_levels, SIZE_MAX, false);  // `**` takes any number of levels first
    }
    nodes_[node].min_levels = lo;
    nodes_[node].max_levels = hi;
}

std::uint32_t RouteMatcher::child(std::uint32_t node, const PatternLevel& level) {
    auto make = [this] {
        nodes_.emplace_back();
        return static_cast<std::uint32_t>(nodes_.size() - 1);
    };
    switch (level.kind) {
        case PatternLevel::Kind::literal: {
            auto& literals = nodes_[node].literals;
            std::uint64_t prefix = prefix_key(level.text);
            std::size_t size = level.text.size();
            auto it = std::lower_bound(literals.begin(), literals.end(), level.text,
                                       [&](const Literal& a, const std::string& b) {
                                           return compare(a, size, prefix, b) < 0;
                                       });
            if (it != literals.end() && compare(*it, size, prefix, level.text) == 0) {
                return it->child;
            }
            auto at = it - literals.begin();
            std::uint32_t id = make();  // may move nodes_, so index the literals afresh
            auto& again = nodes_[node].literals;
            again.insert(again.begin() + at, Literal{size, prefix, level.text, id});
            return id;
        }
        case PatternLevel::Kind::plus:
        case PatternLevel::Kind::capture:
            if (nodes_[node].any_one == none) {
                std::uint32_t id = make();
                nodes_[node].any_one = id;
            }
            return nodes_[node].any_one;
        case PatternLevel::Kind::glob: {
            for (const auto& [glob, id] : nodes_[node].globs) {
                if (same_parts(*glob.parts, level.parts)) return id;
            }
            std::uint32_t id = make();
            Glob glob;
            glob.parts = &level.parts;
            const auto& parts = level.parts;
            auto wild = [](const GlobPart& part) { return part.kind != GlobPart::Kind::text; };
            auto text = [](const GlobPart& part) { return part.kind == GlobPart::Kind::text; };
            if (parts.size() == 2 && wild(parts[0]) && text(parts[1])) {
                glob.simple = true;
                glob.suffix = parts[1].text;
            } else if (parts.size() == 2 && text(parts[0]) && wild(parts[1])) {
                glob.simple = true;
                glob.prefix = parts[0].text;
            } else if (parts.size() == 3 && text(parts[0]) && wild(parts[1]) && text(parts[2])) {
                glob.simple = true;
                glob.prefix = parts[0].text;
                glob.suffix = parts[2].text;
            }
            nodes_[node].globs.emplace_back(std::move(glob), id);
            return id;
        }
        case PatternLevel::Kind::any_levels:
            if (nodes_[node].any_levels == none) {
                std::uint32_t id = make();
                nodes_[node].any_levels = id;
            }
            return nodes_[node].any_levels;
        case PatternLevel::Kind::hash:
            break;
    }
    return node;
}

// config::RouteTable's search: the lowest route index reachable, pruning subtrees that
// cannot beat the best so far.
bool RouteMatcher::viable(const Search& s, const Node& node, std::size_t t) {
    std::size_t remaining = s.topic.size() - t;
    return node.best_below < s.best && remaining >= node.min_levels && remaining <= node.max_levels;
}

void RouteMatcher::search(Search& s, std::uint32_t node_id, std::size_t t) const {
    // The last child to try is continued in this loop rather than called: most topics walk
    // one chain of literals and captures.
    while (true) {
        const Node& node = nodes_[node_id];
        if (!viable(s, node, t)) return;
        if (!s.visited.empty()) {
            std::size_t key = node_id * (s.topic.size() + 1) + t;
            if (s.visited[key]) return;
            s.visited[key] = true;
        }
        // `$` topics are matched only by a literal first level.
        bool dollar = t == 0 && !s.topic[0].empty() && s.topic[0][0] == '$';
        if (!dollar) s.best = std::min(s.best, node.hash_here);
        if (t == s.topic.size()) s.best = std::min(s.best, node.ends_here);
        if (node.any_levels != none && !dollar &&
            (s.any_levels_from.empty() || t < s.any_levels_from[node_id])) {
            if (!s.any_levels_from.empty()) s.any_levels_from[node_id] = t;
            const Node& next = nodes_[node.any_levels];
            for (std::size_t skip = t; skip <= s.topic.size(); ++skip) {
                if (viable(s, next, skip)) search(s, node.any_levels, skip);
            }
        }
        if (t == s.topic.size()) return;
        // The children that take this level, in order: the literal, `+`/capture, globs.
        std::string_view level = s.topic[t];
        std::uint32_t next = none;
        auto take = [&](std::uint32_t child) {
            if (next != none) search(s, next, t + 1);
            next = child;
        };
        if (!node.literals.empty()) {
            std::uint64_t prefix = prefix_key(level);
            auto it = std::lower_bound(node.literals.begin(), node.literals.end(), level,
                                       [&](const Literal& a, std::string_view b) {
                                           return compare(a, level.size(), prefix, b) < 0;
                                       });
            if (it != node.literals.end() && compare(*it, level.size(), prefix, level) == 0) {
                take(it->child);
            }
        }
        if (!dollar) {
            if (node.any_one != none) take(node.any_one);
            for (const auto& [glob, id] : node.globs) {
                if (nodes_[id].best_below < s.best && glob.matches(level)) take(id);
            }
        }
        if (next == none) return;
        node_id = next;
        ++t;
    }
}

bool RouteMatcher::match(std::string_view topic, RouteScratch& scratch, std::size_t& route,
                         CaptureViews& captures) const {
    captures.clear();
    if (!patterns_ || patterns_->empty()) return false;
    auto& levels = scratch.levels;
    levels.clear();
    const char* text = topic.data();
    std::size_t start = 0;  // of the current level
    std::size_t i = 0;
    auto slash_at = [&](std::size_t at) {
        levels.emplace_back(text + start, at - start);
        start = at + 1;
    };
#if defined(__SSE2__)
    for (; i + 16 <= topic.size(); i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i));
        auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/'))));
        for (; mask; mask &= mask - 1)
            slash_at(i + static_cast<std::size_t>(__builtin_ctz(mask)));
    }
#endif
    for (; i < topic.size(); ++i) {
        if (text[i] == '/') slash_at(i);
    }
    levels.emplace_back(text + start, topic.size() - start);

    Search s{levels, scratch.visited, scratch.any_levels_from};
    s.visited.clear();
    s.any_levels_from.clear();
    if (repeated_any_levels_) {
        s.visited.assign(nodes_.size() * (levels.size() + 1), false);
        s.any_levels_from.assign(nodes_.size(), SIZE_MAX);
    }
    search(s, 0, 0);
    if (s.best == none) return false;
    route = s.best;
    capture(route, scratch, captures);
    return true;
}

// The captures TopicPattern::match would give for the winning route.
void RouteMatcher::capture(std::size_t route, RouteScratch& scratch, CaptureViews& captures) const {
    const Alignment& alignment = alignments_[route];
    if (alignment.capturing.empty()) return;
    const config::TopicPattern& pattern = (*patterns_)[route];
    const auto& levels = scratch.levels;
    if (alignment.by_pattern) {
        scratch.split.assign(levels.begin(), levels.end());
        pattern.match(scratch.split, &scratch.fallback);
        for (const auto& [name, value] : scratch.fallback)
            captures.emplace_back(name, value);
        return;
    }
    // Levels before the one `**` take the topic's first levels, those after it its last
    // ones; without `**`, level i is topic level i (a `#` ends the pattern).
    const auto& pattern_levels = pattern.levels();
    for (std::size_t i : alignment.capturing) {
        const PatternLevel& level = pattern_levels[i];
        std::size_t t = i < alignment.any_levels || alignment.any_levels == SIZE_MAX
                            ? i
                            : levels.size() - (pattern_levels.size() - i);
        if (level.kind == PatternLevel::Kind::capture) {
            captures.emplace_back(level.text, levels[t]);
        } else if (level.kind == PatternLevel::Kind::glob) {
            glob_captures(level.parts, 0, levels[t], captures);
        }
    }
}

}  // namespace errbridge::core::detail
