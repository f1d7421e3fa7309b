#pragma once

// Routing for the decode path: the first route (config order) whose topic pattern matches,
// and its captures as views into the topic. Same answers as config::RouteTable::match (the
// same trie and search), with the split levels and the search state kept between messages
// and no second full match: captures are read off the winning pattern by aligning its
// levels with the topic, which is unambiguous unless the pattern has two `**`, or `**` and
// `#` (those few use TopicPattern::match).

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
    std::vector<std::string_view> levels;
    std::vector<bool> visited;  // (node, level) pairs, only with repeated `**`
    std::vector<std::size_t> any_levels_from;
    config::TopicLevels split;  // only for patterns matched by TopicPattern::match
    config::Captures fallback;  // their captures, which the views then point into
};

class RouteMatcher {
  public:
    RouteMatcher() = default;
    explicit RouteMatcher(const std::vector<config::TopicPattern>& patterns);

    // False when no route matches.
    bool match(std::string_view topic, RouteScratch& scratch, std::size_t& route,
               CaptureViews& captures) const;

  private:
    static constexpr std::uint32_t none = UINT32_MAX;

    // A glob level in a faster form when it is `*suffix`, `{x}suffix`, `prefix*`,
    // `prefix{x}` or `prefix*suffix` (the same test as config::match_glob).
    struct Glob {
        const std::vector<config::GlobPart>* parts = nullptr;
        bool simple = false;
        std::string prefix;
        std::string suffix;
        bool matches(std::string_view level) const;
    };

    // A literal level, ordered by length, then its first 8 bytes as a big-endian number,
    // then the rest: most lookups are integer compares.
    struct Literal {
        std::size_t size;
        std::uint64_t prefix;
        std::string text;
        std::uint32_t child;
    };

    struct Node {
        std::vector<Literal> literals;
        std::uint32_t any_one = none;  // `+` or `{name}`
        std::vector<std::pair<Glob, std::uint32_t>> globs;
        std::uint32_t any_levels = none;  // `**`
        std::uint32_t ends_here = none;   // first route whose pattern ends at this node
        std::uint32_t hash_here = none;   // first route with `#` at this node
        std::uint32_t best_below = none;  // first route anywhere in this subtree
        // Topic levels a match needs from here: a subtree cannot match outside this range.
        std::size_t min_levels = SIZE_MAX;
        std::size_t max_levels = 0;  // SIZE_MAX below a `**` or `#`
    };

    // How a pattern's levels line up with a matching topic's levels.
    struct Alignment {
        bool by_pattern = false;             // ambiguous: TopicPattern::match decides
        std::size_t any_levels = SIZE_MAX;   // index of the one `**`, if any
        std::vector<std::size_t> capturing;  // indices of the levels with captures
    };

    struct Search;

    std::uint32_t child(std::uint32_t node, const config::PatternLevel& level);
    void bound_levels(std::uint32_t node);
    void search(Search& s, std::uint32_t node, std::size_t t) const;
    // Whether a match below `node` from topic level `t` could still beat the best so far.
    static bool viable(const Search& s, const Node& node, std::size_t t);
    void capture(std::size_t route, RouteScratch& scratch, CaptureViews& captures) const;

    const std::vector<config::TopicPattern>* patterns_ = nullptr;
    std::vector<Alignment> alignments_;
    std::vector<Node> nodes_;
    bool repeated_any_levels_ = false;
};

}  // namespace errbridge::core::detail
