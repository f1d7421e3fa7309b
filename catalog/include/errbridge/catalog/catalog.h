#pragma once

// The multi-vendor catalog: built-in documents, optionally merged with site files, and a
// lookup by (vendor, code key) that costs a binary search over integers.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "errbridge/catalog/entry.h"

namespace errbridge::catalog {

// A catalog document that cannot be used; `what()` starts with the path (or "built-in
// <file>") and says why.
class CatalogError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Parses and validates one catalog document. `origin` names it in errors.
Vendor parse_document(std::string_view json, const std::string& origin);

class Catalog {
  public:
    // The documents compiled into the binary.
    static Catalog built_in();

    // Merges `vendor` over what is there: entries with the same code or range replace
    // existing ones, new entries and sources are added; `decode` and `routes` replace
    // the existing ones when the document has them. A new vendor must have `decode`.
    void merge(Vendor vendor);

    // Files or directories (every *.json in name order). Throws CatalogError naming the
    // file; on error the catalog is left unchanged.
    void merge_paths(const std::vector<std::filesystem::path>& paths);

    const std::vector<Vendor>& vendors() const { return vendors_; }
    const Vendor* vendor(std::string_view id) const;
    // Index into vendors(), or -1.
    int vendor_index(std::string_view id) const;

    // The entry for `key`: an exact code first, then the narrowest range holding it.
    const Entry* find(int vendor_index, std::int64_t key) const;
    const Entry* find(std::string_view vendor_id, std::int64_t key) const;

  private:
    struct Index {
        // Indices into the vendor's entries, so a copied Catalog stays valid. Single codes
        // sit in an open-addressing table (a power of two, at most half full, linear
        // probing): a lookup per decoded code is one multiply and usually one probe.
        static constexpr std::uint32_t empty = UINT32_MAX;
        std::vector<std::int64_t> keys;  // parallel to `entries`
        std::vector<std::uint32_t> entries;
        int shift = 61;                     // 64 - log2(table size); rebuild_index sizes the table
        std::vector<std::uint32_t> ranges;  // narrowest first
    };

    void rebuild_index();

    std::vector<Vendor> vendors_;
    std::vector<Index> index_;
};

}  // namespace errbridge::catalog
