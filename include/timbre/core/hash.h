// Content and parameter hashing (XXH3-128 from libxxhash): fast enough to hash whole files
// during a scan, and stable across machines and versions of timbre.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "timbre/core/status.h"

namespace timbre {

// Hex XXH3-128 of a file's bytes, read in bounded chunks.
Result<std::string> HashFileContent(const std::filesystem::path& path);

// Hex XXH3-128 of a string, e.g. a canonical parameter list.
std::string HashString(std::string_view data);

}  // namespace timbre
