// Track filters: the `--where` language of `similar`, `mix` and the track listing, parsed
// once into conditions that every backend turns into parameterised SQL (never spliced text).
//
//   where   := cond ( "and" cond )*
//   cond    := field op value
//   op      := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~"
//              ("~" contains, "!~" does not contain; both ignore case)
//   value   := number | 'text' | "text" | bare-word
//
// Fields: track columns (title, artist, album, album_artist, genre, year, duration, path,
// container, codec, sample_rate, channels, bitrate); shortcuts bpm (rhythm.bpm), key
// (tonal.key, e.g. 'A minor'), loudness (loudness.integrated); any stored output as
// analyzer.name (spectral.centroid_mean, tonal.key_krumhansl); tag:NAME compares a tag's
// score, and `tag = NAME` / `tag != NAME` test that a track has a tag.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::store {

enum class FilterOp { kEq, kNe, kLt, kLe, kGt, kGe, kContains, kLacks };
std::string_view FilterOpText(FilterOp op);

struct FilterCondition {
  enum class Target {
    kColumn,      // tracks.<column>
    kDescriptor,  // a numeric output: analyzer, name
    kText,        // a text output: analyzer, name
    kTagScore,    // tags.score of tag `name`
    kHasTag,      // presence of tag `value`
  };
  Target target = Target::kColumn;
  std::string analyzer;  // for outputs
  std::string name;      // column, output or tag name
  FilterOp op = FilterOp::kEq;
  std::variant<double, std::string> value;
};

struct TrackFilter {
  std::vector<FilterCondition> conditions;  // all must hold
  bool empty() const { return conditions.empty(); }
};

// Parses a `--where` expression; an empty string is the empty filter. Unknown fields,
// operators that do not fit the field (`<` on a text) and unbalanced quotes are errors
// that name the offending part.
Result<TrackFilter> ParseFilter(std::string_view text);

// A condition on a track column, for callers that build filters in code.
FilterCondition ColumnCondition(std::string column, FilterOp op,
                                std::variant<double, std::string> value);

}  // namespace timbre::store
