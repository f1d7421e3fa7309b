#pragma once

// Routing for the decode path: the first route (config order) whose topic pattern matches,
// and its captures as views into the topic. Same answers as config::RouteTable::match (the
// same trie and search), laid out for the per-message walk: the topic is split into level
// offsets, not views; nodes, literals and globs sit in flat arrays; literal levels compare
// as 8-byte words; and captures are read off the winning route's precomputed plan, which is
// unambiguous unless the pattern has two `**`, or `**` and `#` (those few use
// TopicPattern::match).

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "errbridge/config/topic_pattern.h"

namespace errbridge::core::detail {

// (capture name, value): names live in the patterns, values in the topic.
using CaptureViews =
    boost::container::small_vector<std::pair<std::string_view, std::string_view>, 8>;

// Per-message state of a match, reused between messages.
struct RouteScratch {
    std::vector<std::size_t> starts;  // where each topic level starts, then the size + 1
    std::vector<bool> visited;        // (node, level) pairs, only with repeated `**`
    std::vector<std::size_t> any_levels_from;
    config::TopicLevels split;  // only for patterns matched by TopicPattern::match
    config::Captures fallback;  // their captures, which the views then point into
};

class RouteMatcher {
  public:
    RouteMatcher() = default;
    // `patterns` must outlive the matcher and stay where it is: it is referred to, not copied.
    explicit RouteMatcher(const std::vector<config::TopicPattern>& patterns);

    // False when no route matches.
    bool match(std::string_view topic, RouteScratch& scratch, std::size_t& route,
               CaptureViews& captures) const;

  private:
    static constexpr std::uint32_t none = UINT32_MAX;

    // A literal level as words: most lookups never touch the text. Ordered by size, head,
    // tail, then the bytes between.
    struct Literal {
        std::uint64_t head;  // the first (up to) 8 bytes, little-endian, zero-padded
        std::uint64_t tail;  // the last 8 bytes when longer than 8, else 0
        std::uint64_t mask;  // which bytes of an 8-byte load `head` covers
        const char* text;
        std::uint32_t size;  // a pattern level, far below 4 GiB
        std::uint32_t child;
    };

    // A glob level. `simple` when it is `*suffix`, `{x}suffix`, `prefix*`, `prefix{x}` or
    // `prefix*suffix`: one wildcard, so the test is the prefix and the suffix (the same test
    // as config::match_glob). Affixes of up to 8 bytes compare as words.
    struct Glob {
        const std::vector<config::GlobPart>* parts = nullptr;
        bool simple = false;
        std::string_view prefix;
        std::string_view suffix;
        std::uint64_t prefix_word = 0;
        std::uint64_t suffix_word = 0;
        // The suffix where an 8-byte load ending with the level has it: no shift per test.
        std::uint64_t suffix_high = 0;
        std::uint64_t suffix_mask = 0;
        std::uint32_t child = none;
        std::uint32_t best_below = none;  // the child's, read before the level is tested
    };

    struct Node {
        // What the walk does here. All but `general` nodes have one kind of child and
        // nothing else (no route ends here, no `#`), so the walk steps on without the
        // general search's bookkeeping: `any_one` (a `+`/capture child), `literal` (one
        // literal), `literals` (a few, scanned), `wide_literals` (more, searched by halves),
        // `glob` (one simple glob), `any_levels` (a `**` child), and `end` (no children: a
        // route ends here).
        enum class Kind : std::uint8_t {
            general,
            any_one,
            literal,
            literals,
            wide_literals,
            glob,
            any_levels,
            end
        };
        // What every step reads first.
        // Topic levels a match needs from here: a subtree cannot match outside
        // [min_levels, min_levels + span] (span is SIZE_MAX - min_levels below `**` or `#`),
        // which is one unsigned compare.
        std::size_t min_levels = SIZE_MAX;
        std::size_t span = 0;
        Kind kind = Kind::general;
        // any_one: the levels `step` is below this node. A run of `+`/capture levels is one
        // step, not one per level (capped to fit; the rest are further steps).
        std::uint16_t skip = 1;
        std::uint32_t best_below = none;  // first route anywhere in this subtree
        // The one child of a chain node: a node (any_one, any_levels), the index of the
        // literal (literal) or the glob (glob).
        std::uint32_t step = none;

        std::uint32_t ends_here = none;   // first route whose pattern ends at this node
        std::uint32_t hash_here = none;   // first route with `#` at this node
        std::uint32_t any_one = none;     // `+` or `{name}`
        std::uint32_t any_levels = none;  // `**`
        std::uint32_t literals_begin = 0;
        std::uint32_t literals_end = 0;
        std::uint32_t globs_begin = 0;
        std::uint32_t globs_end = 0;
    };

    // How to read one capture of a route off the topic: a whole level, the part of a level
    // between a glob's fixed prefix and suffix, or (any other glob) config::match_glob's
    // spans.
    struct CaptureStep {
        // The topic level is `level + (levels & from_end)`: a level after the one `**`
        // counts from the topic's end (`level` wraps below zero), with no branch per capture.
        std::size_t level = 0;
        std::size_t from_end = 0;  // all ones or zero
        std::string_view name;
        std::size_t prefix = 0;
        std::size_t trim = 1;  // prefix + suffix + the slash after the level
        bool glob = false;
        const std::vector<config::GlobPart>* parts = nullptr;  // glob
    };

    struct CapturePlan {
        bool by_pattern = false;  // ambiguous alignment: TopicPattern::match decides
        std::uint32_t begin = 0;  // steps in capture_steps_
        std::uint32_t end = 0;
    };

    struct Walk;
    struct Building;

    // With repeated `**` the search memoises (node, level) failures; without, it need not.
    template <bool memo>
    void search(Walk& w, std::uint32_t node, std::size_t t) const;
    // Where the search goes on: a node and the level it takes next.
    struct Next {
        std::uint32_t node;
        std::size_t t;
    };
    template <bool memo>
    Next branch(Walk& w, std::uint32_t node, std::size_t t) const;
    std::uint32_t find_literal(const Node& node, const char* level, std::size_t size,
                               const Walk& w) const;
    std::uint32_t scan_literals(const Node& node, const char* level, std::size_t size,
                                const Walk& w) const;
    std::uint32_t find_wide_literal(const Node& node, const char* level, std::size_t size,
                                    const Walk& w) const;
    void capture_by_pattern(std::size_t route, const Walk& w, RouteScratch& scratch,
                            CaptureViews& captures) const;

    const std::vector<config::TopicPattern>* patterns_ = nullptr;
    std::vector<Node> nodes_;
    std::vector<Literal> literals_;
    std::vector<Glob> globs_;
    std::vector<CapturePlan> plans_;
    std::vector<CaptureStep> capture_steps_;
    bool repeated_any_levels_ = false;
};

}  // namespace errbridge::core::detail
