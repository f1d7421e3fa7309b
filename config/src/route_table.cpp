#include "errbridge/config/route_table.h"

#include <algorithm>

namespace errbridge::config {

namespace {
bool same_parts(const std::vector<GlobPart>& a, const std::vector<GlobPart>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        // Capture names do not change what matches; the winning route's own pattern
        // extracts the captures afterwards.
        return x.kind == y.kind && (x.kind != GlobPart::Kind::text || x.text == y.text);
    });
}
}  // namespace

struct RouteTable::Search {
    const TopicLevels& topic;
    std::uint32_t best = none;
    std::vector<bool> visited;  // (node, level) pairs, only with repeated `**`
    // Per node, the lowest level its `**` child was tried from: every later start was
    // visited then, so trying again would only rescan the topic. Only with repeated `**`.
    std::vector<std::size_t> any_levels_from;
};

RouteTable::RouteTable(std::vector<TopicPattern> patterns) : patterns_(std::move(patterns)) {
    nodes_.emplace_back();
    for (std::uint32_t route = 0; route < patterns_.size(); ++route) {
        std::uint32_t node = 0;
        nodes_[node].best_below = std::min(nodes_[node].best_below, route);
        int any_levels = 0;
        for (const auto& level : patterns_[route].levels()) {
            if (level.kind == PatternLevel::Kind::hash) {
                nodes_[node].hash_here = std::min(nodes_[node].hash_here, route);
                break;
            }
            if (level.kind == PatternLevel::Kind::any_levels) ++any_levels;
            node = child(node, level);
            nodes_[node].best_below = std::min(nodes_[node].best_below, route);
        }
        if (patterns_[route].levels().back().kind != PatternLevel::Kind::hash) {
            nodes_[node].ends_here = std::min(nodes_[node].ends_here, route);
        }
        if (any_levels > 1) repeated_any_levels_ = true;
    }
}

std::uint32_t RouteTable::child(std::uint32_t node, const PatternLevel& level) {
    auto make = [this] {
        nodes_.emplace_back();
        return static_cast<std::uint32_t>(nodes_.size() - 1);
    };
    switch (level.kind) {
        case PatternLevel::Kind::literal: {
            auto& literals = nodes_[node].literals;
            auto it =
                std::lower_bound(literals.begin(), literals.end(), level.text,
                                 [](const auto& a, const std::string& b) { return a.first < b; });
            if (it != literals.end() && it->first == level.text) return it->second;
            auto at = it - literals.begin();
            std::uint32_t id = make();  // may move nodes_, so index the literals afresh
            auto& again = nodes_[node].literals;
            again.insert(again.begin() + at, {level.text, id});
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
            for (const auto& [parts, id] : nodes_[node].globs) {
                if (same_parts(parts, level.parts)) return id;
            }
            std::uint32_t id = make();
            nodes_[node].globs.emplace_back(level.parts, id);
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

void RouteTable::search(Search& s, std::uint32_t node_id, std::size_t t) const {
    const Node& node = nodes_[node_id];
    if (node.best_below >= s.best) return;  // nothing below can beat what we have
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
        for (std::size_t skip = t; skip <= s.topic.size(); ++skip)
            search(s, node.any_levels, skip);
    }
    if (t == s.topic.size()) return;
    std::string_view level = s.topic[t];
    auto it = std::lower_bound(node.literals.begin(), node.literals.end(), level,
                               [](const auto& a, std::string_view b) { return a.first < b; });
    if (it != node.literals.end() && it->first == level) search(s, it->second, t + 1);
    if (dollar) return;
    if (node.any_one != none) search(s, node.any_one, t + 1);
    for (const auto& [parts, id] : node.globs) {
        if (nodes_[id].best_below < s.best && match_glob(parts, level, nullptr)) {
            search(s, id, t + 1);
        }
    }
}

std::optional<std::size_t> RouteTable::first_match(std::string_view topic) const {
    if (patterns_.empty()) return std::nullopt;
    return first_match(split_levels(topic));
}

std::optional<std::size_t> RouteTable::first_match(const TopicLevels& levels) const {
    Search s{levels, none, {}, {}};
    if (repeated_any_levels_) {
        s.visited.assign(nodes_.size() * (levels.size() + 1), false);
        s.any_levels_from.assign(nodes_.size(), SIZE_MAX);
    }
    search(s, 0, 0);
    if (s.best == none) return std::nullopt;
    return s.best;
}

std::optional<RouteMatch> RouteTable::match(std::string_view topic) const {
    RouteMatch result{0, {}};
    if (!match(topic, result)) return std::nullopt;
    return result;
}

bool RouteTable::match(std::string_view topic, RouteMatch& out) const {
    if (patterns_.empty()) return false;
    // Split once: the trie and the winning pattern's captures read the same levels.
    auto levels = split_levels(topic);
    auto route = first_match(levels);
    if (!route) return false;
    out.route = *route;
    patterns_[*route].match(levels, &out.captures);
    return true;
}

}  // namespace errbridge::config
