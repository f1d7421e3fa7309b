#include "routes.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace errbridge::core::detail {

using config::GlobPart;
using config::PatternLevel;

namespace {

// Word loads, little-endian on every host so that build time and match time agree.
std::uint64_t load64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

std::uint64_t load32(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

// The `n` (at most 8) bytes at `p`, zero-padded, reading nothing outside them: two
// overlapping 4-byte loads, or three single bytes (overlapping bytes are equal, so OR-ing
// them is harmless).
std::uint64_t load_small(const char* p, std::size_t n) {
    if (n >= 4) return load32(p) | (load32(p + n - 4) << (8 * (n - 4)));
    if (n == 0) return 0;
    auto byte = [p](std::size_t i) {
        return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    };
    return byte(0) | byte(n / 2) | byte(n - 1);
}

// The first `n` (at most 8) bytes at `p`: one load when the text has 8 bytes from `p` on.
[[gnu::always_inline]] inline std::uint64_t head_word(const char* p, std::size_t n,
                                                      const char* text_end) {
    if (n >= 8) return load64(p);
    if (text_end - p >= 8) return load64(p) & ((std::uint64_t{1} << (8 * n)) - 1);
    return load_small(p, n);
}

bool same_parts(const std::vector<GlobPart>& a, const std::vector<GlobPart>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        // Capture names do not change what matches; captures are read per route afterwards.
        return x.kind == y.kind && (x.kind != GlobPart::Kind::text || x.text == y.text);
    });
}

}  // namespace

struct RouteMatcher::Walk {
    const char* text;
    const char* text_end;
    const std::size_t* starts;  // see match()
    std::size_t levels;
    std::uint32_t best = none;
    std::vector<bool>* visited;    // only with repeated `**`
    std::size_t* any_levels_from;  // only with repeated `**`
};

// The trie as config::RouteTable builds it, with per-node vectors; flattened afterwards.
struct RouteMatcher::Building {
    struct Node {
        std::vector<Literal> literals;
        std::vector<Glob> globs;
        RouteMatcher::Node flat;
        std::size_t min_levels = SIZE_MAX;
        std::size_t max_levels = 0;  // SIZE_MAX below a `**` or `#`
    };
    std::vector<Node> nodes;

    static bool less(const Literal& a, const Literal& b) {
        if (a.size != b.size) return a.size < b.size;
        if (a.head != b.head) return a.head < b.head;
        if (a.tail != b.tail) return a.tail < b.tail;
        return a.size > 16 && std::memcmp(a.text + 8, b.text + 8, a.size - 16) < 0;
    }

    std::uint32_t make() {
        nodes.emplace_back();
        return static_cast<std::uint32_t>(nodes.size() - 1);
    }

    std::uint32_t child(std::uint32_t node, const PatternLevel& level) {
        switch (level.kind) {
            case PatternLevel::Kind::literal: {
                Literal literal{};
                literal.size = static_cast<std::uint32_t>(level.text.size());
                literal.text = level.text.data();
                std::size_t head_size = std::min<std::size_t>(literal.size, 8);
                literal.head = load_small(literal.text, head_size);
                literal.tail = literal.size > 8 ? load64(literal.text + literal.size - 8) : 0;
                literal.mask =
                    head_size == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * head_size)) - 1;
                auto& literals = nodes[node].literals;
                auto it = std::lower_bound(literals.begin(), literals.end(), literal, less);
                if (it != literals.end() && !less(literal, *it)) return it->child;
                auto at = it - literals.begin();
                literal.child = make();  // may move nodes, so index the literals afresh
                auto& again = nodes[node].literals;
                again.insert(again.begin() + at, literal);
                return literal.child;
            }
            case PatternLevel::Kind::plus:
            case PatternLevel::Kind::capture:
                if (nodes[node].flat.any_one == none) {
                    std::uint32_t id = make();
                    nodes[node].flat.any_one = id;
                }
                return nodes[node].flat.any_one;
            case PatternLevel::Kind::glob: {
                for (const auto& glob : nodes[node].globs) {
                    if (same_parts(*glob.parts, level.parts)) return glob.child;
                }
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
                } else if (parts.size() == 3 && text(parts[0]) && wild(parts[1]) &&
                           text(parts[2])) {
                    glob.simple = true;
                    glob.prefix = parts[0].text;
                    glob.suffix = parts[2].text;
                }
                if (glob.prefix.size() <= 8)
                    glob.prefix_word = load_small(glob.prefix.data(), glob.prefix.size());
                if (!glob.suffix.empty() && glob.suffix.size() <= 8) {
                    glob.suffix_word = load_small(glob.suffix.data(), glob.suffix.size());
                    unsigned shift = 8 * (8 - static_cast<unsigned>(glob.suffix.size()));
                    glob.suffix_high = glob.suffix_word << shift;
                    glob.suffix_mask = ~std::uint64_t{0} << shift;
                }
                glob.child = make();
                nodes[node].globs.push_back(glob);
                return glob.child;
            }
            case PatternLevel::Kind::any_levels:
                if (nodes[node].flat.any_levels == none) {
                    std::uint32_t id = make();
                    nodes[node].flat.any_levels = id;
                }
                return nodes[node].flat.any_levels;
            case PatternLevel::Kind::hash:
                break;
        }
        return node;
    }

    // Fills min_levels and max_levels of `node` and its subtree.
    void bound_levels(std::uint32_t node) {
        std::size_t lo = SIZE_MAX;
        std::size_t hi = 0;
        auto take = [&](std::size_t child_lo, std::size_t child_hi, bool consumes_one) {
            if (child_lo == SIZE_MAX) return;  // matches nothing
            lo = std::min(lo, child_lo + (consumes_one ? 1 : 0));
            hi = std::max(hi, child_hi == SIZE_MAX ? SIZE_MAX : child_hi + (consumes_one ? 1 : 0));
        };
        const RouteMatcher::Node& flat = nodes[node].flat;
        if (flat.ends_here != none) take(0, 0, false);
        if (flat.hash_here != none) take(0, SIZE_MAX, false);
        std::vector<std::uint32_t> one_level;
        for (const auto& literal : nodes[node].literals)
            one_level.push_back(literal.child);
        if (flat.any_one != none) one_level.push_back(flat.any_one);
        for (const auto& glob : nodes[node].globs)
            one_level.push_back(glob.child);
        for (std::uint32_t id : one_level) {
            bound_levels(id);
            take(nodes[id].min_levels, nodes[id].max_levels, true);
        }
        if (std::uint32_t id = flat.any_levels; id != none) {
            bound_levels(id);
            // `**` takes any number of levels first
            take(nodes[id].min_levels, SIZE_MAX, false);
        }
        nodes[node].min_levels = lo;
        nodes[node].max_levels = hi;
    }
};

RouteMatcher::RouteMatcher(const std::vector<config::TopicPattern>& patterns)
    : patterns_(&patterns) {
    Building b;
    b.make();
    for (std::uint32_t route = 0; route < patterns.size(); ++route) {
        const auto& levels = patterns[route].levels();
        std::size_t any_levels = 0;
        std::size_t any_levels_at = SIZE_MAX;
        bool hash = false;
        for (std::size_t i = 0; i < levels.size(); ++i) {
            if (levels[i].kind == PatternLevel::Kind::any_levels) {
                ++any_levels;
                any_levels_at = i;
            }
            if (levels[i].kind == PatternLevel::Kind::hash) hash = true;
        }
        CapturePlan plan;
        plan.by_pattern = any_levels > 1 || (any_levels == 1 && hash);
        plan.begin = static_cast<std::uint32_t>(capture_steps_.size());
        // Levels before the one `**` take the topic's first levels, those after it its last
        // ones; without `**`, level i is topic level i (a `#` ends the pattern).
        for (std::size_t i = 0; i < levels.size() && !plan.by_pattern; ++i) {
            const PatternLevel& level = levels[i];
            CaptureStep step;
            bool from_end = any_levels_at != SIZE_MAX && i > any_levels_at;
            step.from_end = from_end ? SIZE_MAX : 0;
            step.level = from_end ? i - levels.size() : i;
            if (level.kind == PatternLevel::Kind::capture) {
                step.name = level.text;
            } else if (level.kind == PatternLevel::Kind::glob &&
                       std::any_of(level.parts.begin(), level.parts.end(), [](const auto& part) {
                           return part.kind == GlobPart::Kind::capture;
                       })) {
                const auto& parts = level.parts;
                auto capture_at = [&](std::size_t p) {
                    return parts[p].kind == GlobPart::Kind::capture;
                };
                auto text_at = [&](std::size_t p) { return parts[p].kind == GlobPart::Kind::text; };
                // One capture and nothing else wild: it spans what the affixes leave.
                if (parts.size() == 2 && capture_at(0) && text_at(1)) {
                    step.name = parts[0].text;
                    step.trim += parts[1].text.size();
                } else if (parts.size() == 2 && text_at(0) && capture_at(1)) {
                    step.name = parts[1].text;
                    step.prefix = parts[0].text.size();
                    step.trim += step.prefix;
                } else if (parts.size() == 3 && text_at(0) && capture_at(1) && text_at(2)) {
                    step.name = parts[1].text;
                    step.prefix = parts[0].text.size();
                    step.trim += step.prefix + parts[2].text.size();
                } else {
                    step.glob = true;
                    step.parts = &parts;
                }
            } else {
                continue;
            }
            capture_steps_.push_back(step);
        }
        plan.end = static_cast<std::uint32_t>(capture_steps_.size());
        plans_.push_back(plan);

        std::uint32_t node = 0;
        b.nodes[node].flat.best_below = std::min(b.nodes[node].flat.best_below, route);
        for (const auto& level : levels) {
            if (level.kind == PatternLevel::Kind::hash) {
                b.nodes[node].flat.hash_here = std::min(b.nodes[node].flat.hash_here, route);
                break;
            }
            node = b.child(node, level);
            b.nodes[node].flat.best_below = std::min(b.nodes[node].flat.best_below, route);
        }
        if (levels.back().kind != PatternLevel::Kind::hash) {
            b.nodes[node].flat.ends_here = std::min(b.nodes[node].flat.ends_here, route);
        }
        if (any_levels > 1) repeated_any_levels_ = true;
    }
    b.bound_levels(0);

    nodes_.reserve(b.nodes.size());
    for (auto& node : b.nodes) {
        Node flat = node.flat;
        flat.min_levels = node.min_levels;
        flat.span = node.max_levels >= node.min_levels ? node.max_levels - node.min_levels : 0;
        flat.literals_begin = static_cast<std::uint32_t>(literals_.size());
        literals_.insert(literals_.end(), node.literals.begin(), node.literals.end());
        flat.literals_end = static_cast<std::uint32_t>(literals_.size());
        flat.globs_begin = static_cast<std::uint32_t>(globs_.size());
        for (Glob glob : node.globs) {
            glob.best_below = b.nodes[glob.child].flat.best_below;
            globs_.push_back(glob);
        }
        flat.globs_end = static_cast<std::uint32_t>(globs_.size());
        // The kinds the walk can step through (see Node::Kind).
        using Kind = Node::Kind;
        bool literals = !node.literals.empty();
        bool any_one = flat.any_one != none;
        bool globs = !node.globs.empty();
        bool any_levels = flat.any_levels != none;
        int kinds = int{literals} + int{any_one} + int{globs} + int{any_levels};
        if (flat.hash_here != none || (flat.ends_here != none && kinds > 0) || kinds > 1) {
            flat.kind = Kind::general;
        } else if (flat.ends_here != none) {
            flat.kind = Kind::end;
        } else if (literals) {
            flat.kind = node.literals.size() == 1   ? Kind::literal
                        : node.literals.size() <= 8 ? Kind::literals
                                                    : Kind::wide_literals;
            flat.step = flat.literals_begin;
        } else if (any_one) {
            flat.kind = Kind::any_one;
            flat.step = flat.any_one;
        } else if (globs && node.globs.size() == 1) {
            flat.kind = Kind::glob;
            flat.step = flat.globs_begin;
        } else if (any_levels && !repeated_any_levels_) {
            flat.kind = Kind::any_levels;  // the memoised search wants every `**` general
            flat.step = flat.any_levels;
        }
        nodes_.push_back(flat);
    }
    // Runs of any_one nodes, from the last up: each takes over its child's step while the
    // run fits the count. Children have higher indices than their parents.
    for (std::size_t i = nodes_.size(); i-- > 0;) {
        Node& node = nodes_[i];
        if (node.kind != Node::Kind::any_one) continue;
        const Node& child = nodes_[node.step];
        if (child.kind == Node::Kind::any_one && child.skip < UINT16_MAX) {
            node.step = child.step;
            node.skip = static_cast<std::uint16_t>(child.skip + 1);
        }
    }
}

namespace {

// Whether the level [level, level + size) is `literal`.
template <typename Literal>
[[gnu::always_inline]] inline bool same_literal(const Literal& literal, const char* level,
                                                std::size_t size, const char* text_end) {
    if (literal.size != size) return false;
    if (size <= 8) {
        // The literal's size is the level's: its mask is the one head_word would make.
        std::uint64_t head =
            text_end - level >= 8 ? load64(level) & literal.mask : load_small(level, size);
        return head == literal.head;
    }
    return load64(level) == literal.head && load64(level + size - 8) == literal.tail &&
           (size <= 16 || std::memcmp(literal.text + 8, level + 8, size - 16) == 0);
}

// With one wildcard the span is fixed: the level is the prefix, anything, the suffix.
template <typename Glob>
[[gnu::always_inline]] inline bool glob_matches(const Glob& glob, const char* level,
                                                std::size_t size, const char* text,
                                                const char* text_end) {
    if (!glob.simple) return config::match_glob(*glob.parts, {level, size}, nullptr);
    std::size_t p = glob.prefix.size();
    std::size_t s = glob.suffix.size();
    if (size < p + s) return false;
    if (p != 0 && (p <= 8 ? head_word(level, p, text_end) != glob.prefix_word
                          : std::memcmp(level, glob.prefix.data(), p) != 0))
        return false;
    if (s != 0) {
        const char* end = level + size;
        if (s > 8) return std::memcmp(end - s, glob.suffix.data(), s) == 0;
        if (end - text >= 8) return (load64(end - 8) & glob.suffix_mask) == glob.suffix_high;
        return load_small(end - s, s) == glob.suffix_word;
    }
    return true;
}

}  // namespace

// The child of `node` for the level [level, level + size), or none. Real nodes have a few
// literals, scanned; wide ones (many site prefixes) are searched by halves.
[[gnu::always_inline]] inline std::uint32_t RouteMatcher::find_literal(const Node& node,
                                                                       const char* level,
                                                                       std::size_t size,
                                                                       const Walk& w) const {
    if (node.literals_end - node.literals_begin > 8) return find_wide_literal(node, level, size, w);
    return scan_literals(node, level, size, w);
}

[[gnu::always_inline]] inline std::uint32_t RouteMatcher::scan_literals(const Node& node,
                                                                        const char* level,
                                                                        std::size_t size,
                                                                        const Walk& w) const {
    const Literal* first = literals_.data() + node.literals_begin;
    const Literal* last = literals_.data() + node.literals_end;
    std::uint64_t head = head_word(level, std::min<std::size_t>(size, 8), w.text_end);
    for (; first != last; ++first) {
        if (first->size == size && first->head == head &&
            (size <= 8 || same_literal(*first, level, size, w.text_end)))
            return first->child;
    }
    return none;
}

std::uint32_t RouteMatcher::find_wide_literal(const Node& node, const char* level, std::size_t size,
                                              const Walk& w) const {
    const Literal* first = literals_.data() + node.literals_begin;
    const Literal* last = literals_.data() + node.literals_end;
    std::uint64_t head = head_word(level, std::min<std::size_t>(size, 8), w.text_end);
    std::uint64_t tail = size > 8 ? load64(level + size - 8) : 0;
    auto before = [&](const Literal& literal) {
        if (literal.size != size) return literal.size < size;
        if (literal.head != head) return literal.head < head;
        if (literal.tail != tail) return literal.tail < tail;
        return size > 16 && std::memcmp(literal.text + 8, level + 8, size - 16) < 0;
    };
    for (auto count = last - first; count > 0;) {
        auto half = count / 2;
        if (before(first[half])) {
            first += half + 1;
            count -= half + 1;
        } else {
            count = half;
        }
    }
    return first != last && same_literal(*first, level, size, w.text_end) ? first->child : none;
}

// config::RouteTable's search: the lowest route index reachable, pruning subtrees that
// cannot beat the best so far or cannot take the levels left. Chain nodes (most of a real
// topic's walk) are stepped through here; branch() handles the rest and hands back the
// child to continue with, so the last child is never a call. `$` topics never get here at
// the root (match() takes their first level).
//
// A chain node's single child needs no viability check of its own: the same routes pass
// through both (so the same best_below), and the child's level bounds are the parent's
// less the one level it took (for `**`, the skip is chosen inside them). Only a node picked
// among several, or reached after a call that may have lowered the best, is checked.
template <bool memo>
void RouteMatcher::search(Walk& w, std::uint32_t id, std::size_t t) const {
    const Node* nodes = nodes_.data();
    const Node* node = nodes + id;
    // Level t: nodes that take one have min_levels >= 1, so there is one.
    auto level = [&] { return w.text + w.starts[t]; };
    auto level_size = [&] { return w.starts[t + 1] - w.starts[t] - 1; };
check:
    if (w.levels - t - node->min_levels > node->span || node->best_below >= w.best) return;
step:
    switch (node->kind) {
        case Node::Kind::any_one:
            t += node->skip;
            node = nodes + node->step;
            goto step;
        case Node::Kind::literal: {
            const Literal& literal = literals_[node->step];
            if (!same_literal(literal, level(), level_size(), w.text_end)) return;
            node = nodes + literal.child;
            ++t;
            goto step;
        }
        case Node::Kind::literals:
            id = scan_literals(*node, level(), level_size(), w);
            if (id == none) return;
            node = nodes + id;
            ++t;
            goto check;
        case Node::Kind::wide_literals:
            id = find_wide_literal(*node, level(), level_size(), w);
            if (id == none) return;
            node = nodes + id;
            ++t;
            goto check;
        case Node::Kind::glob: {
            const Glob& glob = globs_[node->step];
            if (!glob_matches(glob, level(), level_size(), w.text, w.text_end)) return;
            node = nodes + glob.child;
            ++t;
            goto step;
        }
        case Node::Kind::any_levels: {
            // Only the skips that leave the `**` node a number of levels it can take (this
            // node's own bounds are its, so there is at least one).
            std::uint32_t after_id = node->step;
            const Node& after = nodes[after_id];
            std::size_t remaining = w.levels - t;
            std::size_t last = w.levels - after.min_levels;
            std::size_t first = after.span >= remaining - after.min_levels ? t : last - after.span;
            node = &after;
            if (first == last) {
                t = last;
                goto step;
            }
            for (std::size_t skip = first; skip < last; ++skip)
                search<memo>(w, after_id, skip);
            t = last;
            goto check;
        }
        case Node::Kind::end:
            w.best = node->ends_here;  // it is best_below, which beat w.best
            return;
        case Node::Kind::general: {
            // Returned, not written through references: `t` stays out of memory.
            Next next = branch<memo>(w, static_cast<std::uint32_t>(node - nodes), t);
            if (next.node == none) return;
            node = nodes + next.node;
            t = next.t;
            goto check;
        }
        default:
            __builtin_unreachable();  // spares the jump table its range check
    }
}

// A general node: routes ending here, `#`, and every kind of child. Searches all children
// but the last, which it hands back (its node is none when there is none).
template <bool memo>
RouteMatcher::Next RouteMatcher::branch(Walk& w, std::uint32_t id, std::size_t t) const {
    const Node& node = nodes_[id];
    std::size_t remaining = w.levels - t;
    if constexpr (memo) {
        std::size_t key = id * (w.levels + 1) + t;
        if ((*w.visited)[key]) return {none, 0};
        (*w.visited)[key] = true;
    }
    w.best = std::min(w.best, node.hash_here);
    if (remaining == 0) w.best = std::min(w.best, node.ends_here);

    // The children to try, in order: `**` (each skip), the literal, `+`/capture, globs.
    std::uint32_t next = none;
    std::size_t next_t = 0;
    auto take = [&](std::uint32_t child, std::size_t at) {
        if (next != none) search<memo>(w, next, next_t);
        next = child;
        next_t = at;
    };
    if (node.any_levels != none && (!memo || t < w.any_levels_from[id])) {
        if constexpr (memo) w.any_levels_from[id] = t;
        const Node& after = nodes_[node.any_levels];
        if (after.min_levels <= remaining) {
            std::size_t last = w.levels - after.min_levels;
            std::size_t first = after.span >= remaining - after.min_levels ? t : last - after.span;
            for (std::size_t skip = first; skip <= last; ++skip)
                take(node.any_levels, skip);
        }
    }
    if (remaining != 0) {
        const char* level = w.text + w.starts[t];
        std::size_t size = w.starts[t + 1] - w.starts[t] - 1;
        if (node.literals_begin != node.literals_end) {
            std::uint32_t child = find_literal(node, level, size, w);
            if (child != none) take(child, t + 1);
        }
        if (node.any_one != none) take(node.any_one, t + 1);
        for (std::uint32_t g = node.globs_begin; g != node.globs_end; ++g) {
            const Glob& glob = globs_[g];
            if (glob.best_below < w.best && glob_matches(glob, level, size, w.text, w.text_end))
                take(glob.child, t + 1);
        }
    }
    return {next, next_t};
}

bool RouteMatcher::match(std::string_view topic, RouteScratch& scratch, std::size_t& route,
                         CaptureViews& captures) const {
    captures.clear();
    if (nodes_.empty()) return false;

    // Where the levels start: starts[k] is level k's first byte, starts[levels] the size
    // + 1, so level k is [starts[k], starts[k + 1] - 1). A topic has at most size + 1
    // levels, so one check of the room up front covers the whole split.
    auto& starts = scratch.starts;
    const char* text = topic.data();
    const std::size_t size = topic.size();
    if (starts.size() < size + 2) starts.resize(std::max<std::size_t>(size + 2, 64));
    std::size_t* out = starts.data();
    std::size_t k = 1;
    out[0] = 0;
    // 64-bit masks, so that the slash positions need no widening.
    auto add = [&](std::size_t from, std::uint64_t mask) {
        for (; mask; mask &= mask - 1)
            out[k++] = from + static_cast<std::size_t>(std::countr_zero(mask));
    };
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128i slash = _mm_set1_epi8('/');
    auto slashes = [&](const char* p) -> std::uint64_t {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash)));
    };
    for (; i + 32 <= size; i += 32)
        add(i + 1, slashes(text + i) | slashes(text + i + 16) << 16);
    if (i + 16 <= size) {
        add(i + 1, slashes(text + i));
        i += 16;
    }
    if (i < size && size >= 16) {
        // The last 16 bytes again, less those already seen.
        add(i + 1, slashes(text + size - 16) >> (16 - (size - i)));
        i = size;
    }
#endif
    for (; i < size; ++i) {
        if (text[i] == '/') out[k++] = i + 1;
    }
    out[k] = size + 1;

    Walk w{text, text + size, out, k, none, nullptr, nullptr};
    if (repeated_any_levels_) {
        scratch.visited.assign(nodes_.size() * (k + 1), false);
        scratch.any_levels_from.assign(nodes_.size(), SIZE_MAX);
        w.visited = &scratch.visited;
        w.any_levels_from = scratch.any_levels_from.data();
    }
    // `$` topics are matched only by a literal first level: the root's literal is all
    // that is tried for them.
    std::uint32_t from = 0;
    std::size_t t = 0;
    if (size != 0 && text[0] == '$') {
        from = find_literal(nodes_[0], text, out[1] - 1, w);
        t = 1;
    }
    if (from != none) {
        if (repeated_any_levels_) {
            search<true>(w, from, t);
        } else {
            search<false>(w, from, t);
        }
    }
    if (w.best == none) return false;
    route = w.best;

    // The captures TopicPattern::match would give for the route.
    const CapturePlan& plan = plans_[route];
    if (plan.by_pattern) {
        capture_by_pattern(route, w, scratch, captures);
        return true;
    }
    // Pointers held in locals: each store to a capture is to memory the compiler cannot
    // tell apart from the plan and the steps, which it would otherwise load again.
    const CaptureStep* steps = capture_steps_.data() + plan.begin;
    const CaptureStep* steps_end = capture_steps_.data() + plan.end;
    for (; steps != steps_end; ++steps) {
        const CaptureStep& step = *steps;
        std::size_t at = step.level + (k & step.from_end);
        const char* level = text + out[at];
        std::size_t level_size = out[at + 1] - out[at] - 1;
        if (!step.glob) {
            // The route matched, so the level holds the glob's prefix and suffix.
            captures.emplace_back(
                step.name, std::string_view(level + step.prefix, level_size + 1 - step.trim));
        } else {
            config::match_glob_parts(*step.parts, 0, {level, level_size}, &captures);
        }
    }
    return true;
}

// The captures of a route whose levels do not line up unambiguously with the topic's:
// TopicPattern::match's own.
void RouteMatcher::capture_by_pattern(std::size_t route, const Walk& w, RouteScratch& scratch,
                                      CaptureViews& captures) const {
    scratch.split.clear();
    for (std::size_t t = 0; t < w.levels; ++t)
        scratch.split.emplace_back(w.text + w.starts[t], w.starts[t + 1] - w.starts[t] - 1);
    (*patterns_)[route].match(scratch.split, &scratch.fallback);
    for (const auto& [name, value] : scratch.fallback)
        captures.emplace_back(name, value);
}

}  // namespace errbridge::core::detail
