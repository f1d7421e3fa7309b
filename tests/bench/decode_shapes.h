#pragma once

// The messages the decode benchmarks time (bench_decode) and count instructions for
// (count_decode), so both always measure the same bytes on the same config.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"

namespace errbridge::bench {

inline constexpr std::int64_t now_ms = 1'795'000'000'123;

// The embedded default config with a fixed hostname and an empty environment, so the site
// name and therefore every event's bytes are the same on any machine.
inline std::shared_ptr<const config::LoadedConfig> embedded_config() {
    config::Environment env;
    env.hostname = "gw-01";
    env.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    return std::make_shared<const config::LoadedConfig>(
        config::load_config_text(config::embedded_default_config(), "embedded default", env));
}

struct DecodeShape {
    std::string_view name;
    std::string_view topic;
    std::string_view payload;
    core::DecodeResult::Status expected;  // else the benchmark would time the wrong path
};

using Status = core::DecodeResult::Status;

inline constexpr std::array<DecodeShape, 5> decode_shapes{{
    // SPEC §6's example reply (FORMATS.md §3 envelope) at the size SPEC §13 names (153
    // bytes, a millisecond request id and the platform's detailed message): one event,
    // known code, Alink method. The SPEC §13 target: under 1 µs.
    {"alink_reply", "/sys/a1X2/pump-7/thing/event/property/post_reply",
     R"({"code":6207,"data":{},"id":"1718236800123",)"
     R"("message":"request parameter error: params.Temperature",)"
     R"("method":"thing.event.property.post","version":"1.0"})",
     Status::events},
    // The success reply on the same topic: no event, so routing + checks + parse only.
    {"alink_success", "/sys/a1X2/pump-7/thing/event/property/post_reply",
     R"({"code":200,"data":{},"id":"123","message":"success",)"
     R"("method":"thing.event.property.post","version":"1.0"})",
     Status::success},
    // FORMATS.md §2 values-format upload with three tag errors: three events.
    {"neuron_upload", "/neuron/app1/modbus-tcp-1/grp-1",
     R"({"node": "modbus-tcp-1", "group": "grp-1", "timestamp": 1717000000123, )"
     R"("values": {"tag0": 123}, "errors": {"tag1": 3002, "tag2": 3015, "tag3": 3001}, )"
     R"("metas": {}})",
     Status::events},
    // FORMATS.md §6 v2.0 failure: one event, firmware detected from errorDesc.
    {"camera_reply", "bridge/camera/cam-1/http/GetDeviceInfo/response",
     "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
     "<config status=\"failed\" errorCode=\"1\" errorDesc=\"Invalid Request\"/>",
     Status::events},
    // A dead letter (duplicate code key): the price of a hostile payload.
    {"alink_dead_letter", "/sys/a1X2/pump-7/thing/event/property/post_reply",
     R"({"code":6207,"code":6208,"id":"123"})", Status::dead_letter},
}};

}  // namespace errbridge::bench
