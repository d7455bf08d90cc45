#include "timbre/store/filter.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace timbre::store {
namespace {

enum class ValueKind { kNumber, kText };

const std::map<std::string_view, ValueKind>& Columns() {
  static const std::map<std::string_view, ValueKind> kColumns = {
      {"title", ValueKind::kText},          {"artist", ValueKind::kText},
      {"album", ValueKind::kText},          {"album_artist", ValueKind::kText},
      {"genre", ValueKind::kText},          {"path", ValueKind::kText},
      {"container", ValueKind::kText},      {"codec", ValueKind::kText},
      {"album_key", ValueKind::kText},      {"year", ValueKind::kNumber},
      {"duration", ValueKind::kNumber},     {"sample_rate", ValueKind::kNumber},
      {"channels", ValueKind::kNumber},     {"bitrate", ValueKind::kNumber},
      {"track_number", ValueKind::kNumber}, {"disc_number", ValueKind::kNumber},
  };
  return kColumns;
}

bool IsOperatorChar(char c) { return c == '=' || c == '!' || c == '<' || c == '>' || c == '~'; }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }

  // A field name or a bare word: anything up to white space or an operator.
  std::string Word() {
    SkipSpace();
    const size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) &&
           !IsOperatorChar(text_[pos_])) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<FilterOp> Operator() {
    SkipSpace();
    static constexpr std::pair<std::string_view, FilterOp> kOps[] = {
        {"!~", FilterOp::kLacks}, {"!=", FilterOp::kNe},     {"<=", FilterOp::kLe},
        {">=", FilterOp::kGe},    {"=", FilterOp::kEq},      {"<", FilterOp::kLt},
        {">", FilterOp::kGt},     {"~", FilterOp::kContains}};
    for (const auto& [text, op] : kOps) {
      if (text_.substr(pos_).starts_with(text)) {
        pos_ += text.size();
        return op;
      }
    }
    return InvalidArgument(fmt::format("expected an operator (= != < <= > >= ~ !~) at \"{}\"",
                                       text_.substr(pos_, 20)));
  }

  // A quoted string, or a bare word; `quoted` says which, so "'120'" stays text.
  Result<std::string> Value(bool* quoted) {
    SkipSpace();
    *quoted = false;
    if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"')) {
      const char quote = text_[pos_++];
      const size_t end = text_.find(quote, pos_);
      if (end == std::string_view::npos) {
        return InvalidArgument(fmt::format("unclosed {} quote in the filter", quote));
      }
      std::string out(text_.substr(pos_, end - pos_));
      pos_ = end + 1;
      *quoted = true;
      return out;
    }
    std::string word = Word();
    if (word.empty()) return InvalidArgument("a condition is missing its value");
    return word;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::optional<double> ParseNumber(const std::string& s) {
  double v = 0.0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Resolves a field name to its target; shortcuts map to the analyzer output they name.
Result<FilterCondition> ResolveField(const std::string& field) {
  FilterCondition c;
  if (field == "bpm") {
    c.target = FilterCondition::Target::kDescriptor;
    c.analyzer = "rhythm";
    c.name = "bpm";
  } else if (field == "loudness") {
    c.target = FilterCondition::Target::kDescriptor;
    c.analyzer = "loudness";
    c.name = "integrated";
  } else if (field == "key") {
    c.target = FilterCondition::Target::kText;
    c.analyzer = "tonal";
    c.name = "key";
  } else if (field == "tag") {
    c.target = FilterCondition::Target::kHasTag;
  } else if (field.starts_with("tag:") && field.size() > 4) {
    c.target = FilterCondition::Target::kTagScore;
    c.name = field.substr(4);
  } else if (Columns().contains(field)) {
    c.target = FilterCondition::Target::kColumn;
    c.name = field;
  } else if (auto dot = field.find('.');
             dot != std::string::npos && dot > 0 && dot + 1 < field.size()) {
    // A stored output; whether it is a number or a text is decided by the value given.
    c.target = FilterCondition::Target::kDescriptor;
    c.analyzer = field.substr(0, dot);
    c.name = field.substr(dot + 1);
  } else {
    return InvalidArgument(fmt::format(
        "unknown filter field \"{}\" (use a track field such as artist or duration, bpm, key, "
        "loudness, analyzer.output, or tag:NAME)",
        field));
  }
  return c;
}

Status CheckOperator(const FilterCondition& c, bool is_text) {
  const bool ordering = c.op == FilterOp::kLt || c.op == FilterOp::kLe || c.op == FilterOp::kGt ||
                        c.op == FilterOp::kGe;
  if (c.target == FilterCondition::Target::kHasTag && c.op != FilterOp::kEq &&
      c.op != FilterOp::kNe) {
    return InvalidArgument("`tag` takes = or != and a tag name");
  }
  if (is_text && ordering) {
    return InvalidArgument(fmt::format("{} compares text; use =, != or ~",
                                       c.analyzer.empty() ? c.name : c.analyzer + "." + c.name));
  }
  if (!is_text && (c.op == FilterOp::kContains || c.op == FilterOp::kLacks)) {
    return InvalidArgument(fmt::format("~ and !~ need a text field; {} is a number", c.name));
  }
  return Status::Ok();
}

}  // namespace

std::string_view FilterOpText(FilterOp op) {
  switch (op) {
    case FilterOp::kEq:
      return "=";
    case FilterOp::kNe:
      return "!=";
    case FilterOp::kLt:
      return "<";
    case FilterOp::kLe:
      return "<=";
    case FilterOp::kGt:
      return ">";
    case FilterOp::kGe:
      return ">=";
    case FilterOp::kContains:
      return "~";
    case FilterOp::kLacks:
      return "!~";
  }
  return "=";
}

FilterCondition ColumnCondition(std::string column, FilterOp op,
                                std::variant<double, std::string> value) {
  FilterCondition c;
  c.target = FilterCondition::Target::kColumn;
  c.name = std::move(column);
  c.op = op;
  c.value = std::move(value);
  return c;
}

Result<TrackFilter> ParseFilter(std::string_view text) {
  TrackFilter filter;
  Lexer lex(text);
  while (!lex.AtEnd()) {
    if (!filter.conditions.empty()) {
      const std::string joiner = lex.Word();
      if (joiner != "and" && joiner != "AND") {
        return InvalidArgument(
            fmt::format("expected \"and\" between conditions, found \"{}\"", joiner));
      }
    }
    const std::string field = lex.Word();
    if (field.empty()) return InvalidArgument("a condition is missing its field");
    auto c = ResolveField(field);
    if (!c.ok()) return c.status();
    auto op = lex.Operator();
    if (!op.ok()) return op.status();
    c->op = *op;
    bool quoted = false;
    auto raw = lex.Value(&quoted);
    if (!raw.ok()) return raw.status();

    bool is_text = true;
    using Target = FilterCondition::Target;
    if (c->target == Target::kColumn) {
      is_text = Columns().at(c->name) == ValueKind::kText;
    } else if (c->target == Target::kTagScore) {
      is_text = false;
    } else if (field == "bpm" || field == "loudness") {
      is_text = false;  // numeric shortcuts: a word here is a mistake, not a text output
    } else if (c->target == Target::kDescriptor) {
      is_text = quoted || !ParseNumber(*raw).has_value();
      if (is_text) c->target = Target::kText;
    } else if (c->target == Target::kText || c->target == Target::kHasTag) {
      is_text = true;
    }
    TIMBRE_RETURN_IF_ERROR(CheckOperator(*c, is_text));
    if (is_text) {
      c->value = *raw;
    } else {
      auto number = ParseNumber(*raw);
      if (!number || quoted) {
        return InvalidArgument(fmt::format("{} needs a number, got \"{}\"", field, *raw));
      }
      c->value = *number;
    }
    filter.conditions.push_back(std::move(*c));
  }
  return filter;
}

}  // namespace timbre::store
