#include "delivery.h"

#include <rapidjson/document.h>

#include <atomic>
#include <iostream>
#include <thread>

namespace errbridge::it {

std::string alink_reply(std::size_t id, int code) {
    return R"({"code":)" + std::to_string(code) + R"(,"data":{},"id":")" + std::to_string(id) +
           R"(","message":"request parameter error","method":"thing.event.property.post"})";
}

std::size_t publish_alink(const std::string& uri, std::size_t first, std::size_t count,
                          std::size_t window, const std::string& client_id) {
    TestClient device(uri, client_id);
    std::atomic<std::size_t> acknowledged{0};
    device.publish_stream(
        alink_topic, [&](std::size_t i) { return alink_reply(first + i); }, count, window,
        acknowledged);
    return acknowledged;
}

void wait_until_quiet(const std::function<std::size_t()>& count) {
    std::size_t last = 0;
    for (int quiet = 0; quiet < 3;) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        std::size_t now = count();
        quiet = now == last ? quiet + 1 : 0;
        last = now;
    }
}

std::string delivery_config(const Mosquitto& broker, const TempDir& dir, const std::string& extra) {
    return "site = \"lab\"\n[broker]\nuri = \"" + broker.uri() + "\"\nstate_dir = \"" +
           (dir.path() / "state").string() + "\"\nkeepalive_s = 5\nreconnect_min_s = 1\n" +
           "reconnect_max_s = 2\n" + extra + "[suppress]\nwindow_s = 0\n[metrics]\nlisten = \"\"\n";
}

Tally tally(std::size_t sent, const std::vector<Received>& events) {
    Tally t;
    t.sent = sent;
    std::set<std::string> ids, request_ids;
    std::size_t damaged = 0;
    for (const auto& e : events) {
        rapidjson::Document d;
        d.Parse(e.payload.c_str());
        if (d.HasParseError() || !d.IsObject() || !d.HasMember("id")) {
            ++damaged;
            continue;
        }
        ids.insert(d["id"].GetString());
        request_ids.insert(d["context"]["request_id"].GetString());
    }
    t.delivered = ids.size();
    t.duplicated = events.size() - damaged - t.delivered;
    t.lost = sent > t.delivered ? sent - t.delivered : 0;
    std::cout << "sent " << t.sent << " / delivered " << t.delivered << " / lost " << t.lost
              << " / duplicated " << t.duplicated;
    if (damaged > 0) std::cout << " / damaged copies " << damaged;
    std::cout << "\n";
    std::size_t shown = 0;
    for (std::size_t i = 0; i < sent && shown < 10 && t.lost > 0; ++i) {
        if (!request_ids.contains(std::to_string(i))) {
            std::cout << "missing request_id " << i << "\n";
            ++shown;
        }
    }
    return t;
}

std::size_t DistinctIds::update(const std::vector<Received>& events) {
    for (; parsed_ < events.size(); ++parsed_) {
        rapidjson::Document d;
        d.Parse(events[parsed_].payload.c_str());
        if (!d.HasParseError() && d.IsObject() && d.HasMember("id") && d["id"].IsString())
            ids_.insert(d["id"].GetString());
    }
    return ids_.size();
}

std::vector<Received> wait_distinct(TestClient& sink, std::size_t count,
                                    std::chrono::milliseconds timeout) {
    DistinctIds seen;
    return sink.wait_until(
        [&](const std::vector<Received>& events) { return seen.update(events) >= count; }, timeout);
}

}  // namespace errbridge::it
