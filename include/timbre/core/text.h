// ASCII case mapping for names: tag keys, header names, file extensions. Bytes outside
// ASCII pass through unchanged, so UTF-8 text is never damaged.
#pragma once

#include <string>
#include <string_view>

namespace timbre {

std::string AsciiUpper(std::string_view text);
std::string AsciiLower(std::string_view text);

}  // namespace timbre
