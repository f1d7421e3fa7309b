#pragma once

// `errbridge catalog`: the export formats of SPEC §9, as pure functions of the catalog.

#include <string>
#include <string_view>

#include "errbridge/catalog/catalog.h"

namespace errbridge::catalog {

enum class ExportFormat { json, csv };

// One line per code (expanded seed ranges, open ranges as one line with code_range).
// `vendor_filter` empty means every vendor.
std::string export_catalog(const Catalog& catalog, std::string_view vendor_filter,
                           ExportFormat format, Lang lang);

}  // namespace errbridge::catalog
