#pragma once

// `errbridge explain`: everything the catalog knows about one code, for a person (text)
// or a program (JSON).

#include <string>

#include "errbridge/catalog/catalog.h"

namespace errbridge::cli {

std::string explain_text(const catalog::Vendor& vendor, const catalog::Entry& entry,
                         const std::string& code, catalog::Lang lang);
std::string explain_json(const catalog::Vendor& vendor, const catalog::Entry& entry,
                         const std::string& code, catalog::Lang lang);

}  // namespace errbridge::cli
