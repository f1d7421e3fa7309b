#pragma once

// `errbridge check`: what a config means once loaded — routes, the subscriptions derived
// from them (identifiers, drops, widening) and the topics errbridge publishes to.

#include <string>

#include "errbridge/config/load.h"

namespace errbridge::cli {

std::string describe_config(const config::LoadedConfig& loaded, const std::string& source);

}  // namespace errbridge::cli
