// Where timbre keeps its state, and how paths are shown to people and scripts.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace timbre {

// $XDG_DATA_HOME/timbre, or ~/.local/share/timbre when XDG_DATA_HOME is unset or empty.
std::filesystem::path DefaultDataDir();

// File names may hold any bytes; JSON and terminals need UTF-8. Invalid sequences become
// U+FFFD so output never fails. The stored path keeps the original bytes.
std::string SanitizeUtf8(std::string_view bytes);

}  // namespace timbre
