#pragma once

// Matching a topic against every route at once: a trie over pattern levels, so the cost
// grows with the topic's depth, not with the number of routes. The first route in config
// order wins.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "errbridge/config/topic_pattern.h"

namespace errbridge::config {

struct RouteMatch {
    std::size_t route;  // index into the patterns given to the table
    Captures captures;
};

class RouteTable {
  public:
    RouteTable() = default;
    explicit RouteTable(std::vector<TopicPattern> patterns);

    std::optional<RouteMatch> match(std::string_view topic) const;
    // The same into a caller-owned match whose captures keep their memory between calls
    // (the decode hot path). False, with `out` unspecified, when no route matches.
    bool match(std::string_view topic, RouteMatch& out) const;
    // The first matching route without its captures.
    std::optional<std::size_t> first_match(std::string_view topic) const;

    const std::vector<TopicPattern>& patterns() const { return patterns_; }

  private:
    static constexpr std::uint32_t none = UINT32_MAX;

    struct Node {
        std::vector<std::pair<std::string, std::uint32_t>> literals;  // sorted by text
        std::uint32_t any_one = none;                                 // `+` or `{name}`
        std::vector<std::pair<std::vector<GlobPart>, std::uint32_t>> globs;
        std::uint32_t any_levels = none;  // `**`
        std::uint32_t ends_here = none;   // first route whose pattern ends at this node
        std::uint32_t hash_here = none;   // first route with `#` at this node
        std::uint32_t best_below = none;  // first route anywhere in this subtree
    };

    struct Search;

    std::uint32_t child(std::uint32_t node, const PatternLevel& level);
    void search(Search& s, std::uint32_t node, std::size_t t) const;
    std::optional<std::size_t> first_match(const TopicLevels& levels) const;

    std::vector<TopicPattern> patterns_;
    std::vector<Node> nodes_;
    bool repeated_any_levels_ = false;  // some pattern has two `**`: memoise the search
};

}  // namespace errbridge::config
