#include "errbridge/daemon/counters.h"

#include "errbridge/daemon/metrics.h"

namespace errbridge::daemon {

void LabeledCounter::add(std::string_view label, std::string_view label2, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    if (series_ >= max_series) {
        auto known = values_.find(label);
        if (known == values_.end() || known->second.find(label2) == known->second.end()) {
            label = overflow_label;
            if (!label2.empty()) label2 = overflow_label;
        }
    }
    auto outer = values_.find(label);
    if (outer == values_.end())
        outer = values_.emplace(std::string(label), decltype(outer->second){}).first;
    auto inner = outer->second.find(label2);
    if (inner == outer->second.end()) {
        inner = outer->second.emplace(std::string(label2), 0).first;
        ++series_;
    }
    inner->second += n;
}

std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>>
LabeledCounter::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::pair<std::string, std::string>, std::uint64_t>> out;
    for (const auto& [a, inner] : values_) {
        for (const auto& [b, value] : inner)
            out.push_back({{a, b}, value});
    }
    return out;
}

std::uint64_t LabeledCounter::total() const {
    std::lock_guard lock(mutex_);
    std::uint64_t sum = 0;
    for (const auto& [a, inner] : values_) {
        for (const auto& [b, value] : inner)
            sum += value;
    }
    return sum;
}

std::string counters_summary(const Counters& c) {
    return render_summary(take_snapshot(c));
}

}  // namespace errbridge::daemon
