#include "builtin_data.h"
#include "errbridge/catalog/catalog.h"

namespace errbridge::catalog {

Catalog Catalog::built_in() {
    Catalog catalog;
    for (const auto& document : detail::embedded_documents()) {
        catalog.merge(parse_document(document.json, "built-in " + std::string(document.name)));
    }
    return catalog;
}

}  // namespace errbridge::catalog
