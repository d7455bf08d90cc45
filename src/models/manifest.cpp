#include "timbre/models/manifest.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace timbre::models {
namespace {

Status Bad(const std::string& origin, const std::string& field, const std::string& why) {
  return InvalidArgument(fmt::format("{}: {}: {}", origin, field, why)).WithReason("bad_manifest");
}

std::string_view TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// Reads one table's fields, remembering which were read so that unknown ones (typos such as
// `sample_rte`) are errors rather than silently ignored.
class Fields {
 public:
  Fields(const toml::table& table, std::string origin, std::string prefix)
      : table_(table), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

  std::string Path(std::string_view key) const { return prefix_ + std::string(key); }

  Status String(std::string_view key, std::string* out, bool required) {
    const toml::node* n = Node(key);
    if (n == nullptr) return required ? Missing(key) : Status::Ok();
    if (!n->is_string()) return WrongType(key, *n, "a string");
    *out = n->as_string()->get();
    return Status::Ok();
  }

  Status Integer(std::string_view key, int64_t min, int64_t max, int64_t* out, bool required) {
    const toml::node* n = Node(key);
    if (n == nullptr) return required ? Missing(key) : Status::Ok();
    if (!n->is_integer()) return WrongType(key, *n, "an integer");
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      return Bad(origin_, Path(key), fmt::format("{} is outside {}..{}", v, min, max));
    }
    *out = v;
    return Status::Ok();
  }

  Status Number(std::string_view key, double min, double max, double* out) {
    const toml::node* n = Node(key);
    if (n == nullptr) return Status::Ok();
    double v = 0.0;
    if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else {
      return WrongType(key, *n, "a number");
    }
    if (!std::isfinite(v) || v < min || v > max) {
      return Bad(origin_, Path(key), fmt::format("{} is outside {}..{}", v, min, max));
    }
    *out = v;
    return Status::Ok();
  }

  Status Strings(std::string_view key, std::vector<std::string>* out) {
    const toml::node* n = Node(key);
    if (n == nullptr) return Status::Ok();
    if (!n->is_array()) return WrongType(key, *n, "an array of strings");
    out->clear();
    for (const auto& item : *n->as_array()) {
      if (!item.is_string()) return WrongType(key, item, "an array of strings");
      out->push_back(item.as_string()->get());
    }
    return Status::Ok();
  }

  // A sub-table, or nullptr when absent.
  Result<const toml::table*> Table(std::string_view key) {
    const toml::node* n = Node(key);
    if (n == nullptr) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return WrongType(key, *n, "a table");
    return n->as_table();
  }

  const toml::node* Node(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  Status NoOthers() const {
    for (const auto& [key, value] : table_) {
      (void)value;
      if (seen_.count(std::string(key.str())) == 0) {
        return Bad(origin_, Path(key.str()), "unknown field");
      }
    }
    return Status::Ok();
  }

  Status Missing(std::string_view key) const {
    return Bad(origin_, Path(key), "missing (required)");
  }

 private:
  Status WrongType(std::string_view key, const toml::node& n, std::string_view want) const {
    return Bad(origin_, Path(key), fmt::format("expected {}, got {}", want, TypeName(n)));
  }

  const toml::table& table_;
  std::string origin_;
  std::string prefix_;
  std::set<std::string> seen_;
};

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

bool SnakeCase(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool Hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

Status ReadWaveform(Fields& in, Manifest& m) {
  int64_t rate = 0, window = 0;
  TIMBRE_RETURN_IF_ERROR(in.Integer("sample_rate", 8000, 96000, &rate, true));
  TIMBRE_RETURN_IF_ERROR(in.Integer("window", 256, 1 << 22, &window, true));
  m.waveform.sample_rate = static_cast<int>(rate);
  m.waveform.window = static_cast<size_t>(window);
  return in.NoOthers();
}

Status ReadInput(Fields& top, Manifest& m, const std::string& origin) {
  auto table = top.Table("input");
  if (!table.ok()) return table.status();
  if (*table == nullptr) return top.Missing("input");
  Fields in(**table, origin, "input.");
  if (m.kind == ModelKind::kHead) {
    TIMBRE_RETURN_IF_ERROR(in.String("embedder", &m.embedder, true));
    return in.NoOthers();
  }
  std::string frontend;
  TIMBRE_RETURN_IF_ERROR(in.String("frontend", &frontend, true));
  if (m.kind == ModelKind::kTranscriber) {
    if (frontend != "waveform") {
      return Bad(origin, "input.frontend",
                 fmt::format("a transcriber reads \"waveform\", not \"{}\"", frontend));
    }
    return ReadWaveform(in, m);
  }
  if (frontend != "logmel") {
    return Bad(origin, "input.frontend",
               fmt::format("unknown frontend \"{}\" (known: logmel)", frontend));
  }
  dsp::LogMelSpec& f = m.frontend;
  int64_t rate = 0, frame = 0, hop = 0, bands = 0, patch_frames = 0, patch_hop = 0;
  TIMBRE_RETURN_IF_ERROR(in.Integer("sample_rate", 8000, 96000, &rate, true));
  TIMBRE_RETURN_IF_ERROR(in.Integer("frame_size", 16, 65536, &frame, true));
  TIMBRE_RETURN_IF_ERROR(in.Integer("hop_size", 1, 65536, &hop, true));
  TIMBRE_RETURN_IF_ERROR(in.Integer("mel_bands", 1, 512, &bands, true));
  TIMBRE_RETURN_IF_ERROR(in.Integer("patch_frames", 1, 100000, &patch_frames, true));
  TIMBRE_RETURN_IF_ERROR(in.Integer("patch_hop", 1, 100000, &patch_hop, true));
  f.sample_rate = static_cast<int>(rate);
  f.frame_size = static_cast<size_t>(frame);
  f.hop_size = static_cast<size_t>(hop);
  f.mel_bands = static_cast<size_t>(bands);
  f.patch_frames = static_cast<size_t>(patch_frames);
  f.patch_hop = static_cast<size_t>(patch_hop);
  if (f.hop_size > f.frame_size) {
    return Bad(origin, "input.hop_size", "is larger than input.frame_size");
  }
  const double nyquist = static_cast<double>(rate) / 2.0;
  f.low_hz = 0.0;
  f.high_hz = nyquist;
  TIMBRE_RETURN_IF_ERROR(in.Number("low_hz", 0.0, nyquist, &f.low_hz));
  TIMBRE_RETURN_IF_ERROR(in.Number("high_hz", 0.0, nyquist, &f.high_hz));
  if (f.high_hz <= f.low_hz) return Bad(origin, "input.high_hz", "must be above input.low_hz");
  std::string log = "log10_1p";
  TIMBRE_RETURN_IF_ERROR(in.String("log", &log, false));
  if (log == "log10_1p") {
    f.log = dsp::LogCompression::kLog10OnePlus;
  } else if (log == "db") {
    f.log = dsp::LogCompression::kDecibel;
  } else {
    return Bad(origin, "input.log", fmt::format("unknown \"{}\" (known: log10_1p, db)", log));
  }
  TIMBRE_RETURN_IF_ERROR(in.Number("log_scale", 1e-12, 1e12, &f.log_scale));
  std::string layout = "nfb";
  TIMBRE_RETURN_IF_ERROR(in.String("layout", &layout, false));
  if (layout == "nfb") {
    m.layout = TensorLayout::kPatchFramesBands;
  } else if (layout == "ncfb") {
    m.layout = TensorLayout::kPatchChannelFramesBands;
  } else {
    return Bad(origin, "input.layout", fmt::format("unknown \"{}\" (known: nfb, ncfb)", layout));
  }
  return in.NoOthers();
}

Status ReadTranscriberOutput(Fields& out, Manifest& m, const std::string& origin) {
  TIMBRE_RETURN_IF_ERROR(out.Strings("names", &m.output_names));
  if (m.output_names.empty()) return out.Missing("names");
  std::set<std::string> unique;
  for (const auto& n : m.output_names) {
    if (!SnakeCase(n)) {
      return Bad(origin, "output.names", fmt::format("\"{}\" is not snake_case", n));
    }
    if (!unique.insert(n).second) {
      return Bad(origin, "output.names", fmt::format("\"{}\" appears twice", n));
    }
  }
  int64_t frames = 0;
  TIMBRE_RETURN_IF_ERROR(out.Integer("frames", 1, 1 << 20, &frames, true));
  m.output_frames = static_cast<size_t>(frames);
  return out.NoOthers();
}

Status ReadOutput(Fields& top, Manifest& m, const std::string& origin) {
  auto table = top.Table("output");
  if (!table.ok()) return table.status();
  if (*table == nullptr) return top.Missing("output");
  Fields out(**table, origin, "output.");
  if (m.kind == ModelKind::kTranscriber) return ReadTranscriberOutput(out, m, origin);
  int64_t dim = 0;
  const bool embedder = m.kind == ModelKind::kEmbedder;
  TIMBRE_RETURN_IF_ERROR(out.Integer("dim", 1, 1 << 16, &dim, embedder));
  m.dim = static_cast<size_t>(dim);
  TIMBRE_RETURN_IF_ERROR(out.Strings("labels", &m.labels));
  if (!embedder) {
    if (m.labels.empty()) return Bad(origin, "output.labels", "missing (required), or empty");
    if (dim != 0 && static_cast<size_t>(dim) != m.labels.size()) {
      return Bad(origin, "output.labels",
                 fmt::format("{} labels, but output.dim says {}", m.labels.size(), dim));
    }
    std::set<std::string> unique;
    for (const auto& l : m.labels) {
      if (!SnakeCase(l)) {
        return Bad(origin, "output.labels",
                   fmt::format("\"{}\" is not a snake_case label (a-z, 0-9, _)", l));
      }
      if (!unique.insert(l).second) {
        return Bad(origin, "output.labels", fmt::format("\"{}\" appears twice", l));
      }
    }
  } else if (!m.labels.empty()) {
    return Bad(origin, "output.labels", "an embedder returns vectors, not labels");
  }
  std::string activation = "none";
  TIMBRE_RETURN_IF_ERROR(out.String("activation", &activation, false));
  if (activation == "none") {
    m.activation = Activation::kNone;
  } else if (activation == "softmax") {
    m.activation = Activation::kSoftmax;
  } else if (activation == "sigmoid") {
    m.activation = Activation::kSigmoid;
  } else {
    return Bad(origin, "output.activation",
               fmt::format("unknown \"{}\" (known: none, softmax, sigmoid)", activation));
  }
  int64_t tuple_index = 0;
  TIMBRE_RETURN_IF_ERROR(out.Integer("tuple_index", 0, 64, &tuple_index, false));
  m.tuple_index = static_cast<size_t>(tuple_index);
  return out.NoOthers();
}

Status ReadTierRule(Fields& tiers, std::string_view key, TierRule* rule,
                    const std::string& origin) {
  auto table = tiers.Table(key);
  if (!table.ok()) return table.status();
  if (*table == nullptr) return Status::Ok();
  Fields f(**table, origin, tiers.Path(key) + ".");
  TIMBRE_RETURN_IF_ERROR(f.Number("probability", 0.0, 1.0, &rule->probability));
  TIMBRE_RETURN_IF_ERROR(f.Number("margin", -1.0, 1.0, &rule->margin));
  TIMBRE_RETURN_IF_ERROR(f.Number("spread", 0.0, 1.0, &rule->spread));
  return f.NoOthers();
}

Status ReadTiers(Fields& top, Manifest& m, const std::string& origin) {
  auto table = top.Table("tiers");
  if (!table.ok()) return table.status();
  if (*table == nullptr) return Status::Ok();
  if (m.kind == ModelKind::kEmbedder || m.kind == ModelKind::kTranscriber) {
    return Bad(origin, "tiers",
               fmt::format("a{} {} has no labels to tier",
                           m.kind == ModelKind::kEmbedder ? "n" : "", ModelKindName(m.kind)));
  }
  Fields t(**table, origin, "tiers.");
  std::string mode = "exclusive";
  TIMBRE_RETURN_IF_ERROR(t.String("mode", &mode, false));
  if (mode != "exclusive" && mode != "multilabel") {
    return Bad(origin, "tiers.mode",
               fmt::format("unknown \"{}\" (known: exclusive, multilabel)", mode));
  }
  m.tiers.multilabel = mode == "multilabel";
  TIMBRE_RETURN_IF_ERROR(t.Strings("labels", &m.tiers.labels));
  for (const auto& l : m.tiers.labels) {
    if (std::find(m.labels.begin(), m.labels.end(), l) == m.labels.end()) {
      return Bad(origin, "tiers.labels", fmt::format("\"{}\" is not one of output.labels", l));
    }
  }
  if (const toml::node* n = t.Node("contradicts")) {
    const auto* pairs = n->as_array();
    bool ok = pairs != nullptr;
    for (size_t i = 0; ok && i < pairs->size(); ++i) {
      const auto* pair = (*pairs)[i].as_array();
      ok = pair != nullptr && pair->size() == 2 && (*pair)[0].is_string() && (*pair)[1].is_string();
      if (ok) {
        m.tiers.contradicts.emplace_back((*pair)[0].as_string()->get(),
                                         (*pair)[1].as_string()->get());
      }
    }
    if (!ok) {
      return Bad(origin, "tiers.contradicts",
                 "expected an array of label pairs, e.g. [[\"aggressive\", \"relaxed\"]]");
    }
  }
  TIMBRE_RETURN_IF_ERROR(ReadTierRule(t, "high", &m.tiers.high, origin));
  TIMBRE_RETURN_IF_ERROR(ReadTierRule(t, "medium", &m.tiers.medium, origin));
  TIMBRE_RETURN_IF_ERROR(ReadTierRule(t, "low", &m.tiers.low, origin));
  return t.NoOthers();
}

}  // namespace

std::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kEmbedder:
      return "embedder";
    case ModelKind::kHead:
      return "head";
    case ModelKind::kClassifier:
      return "classifier";
    case ModelKind::kTranscriber:
      return "transcriber";
  }
  return "embedder";
}

std::string_view ActivationName(Activation a) {
  switch (a) {
    case Activation::kNone:
      return "none";
    case Activation::kSoftmax:
      return "softmax";
    case Activation::kSigmoid:
      return "sigmoid";
  }
  return "none";
}

Result<Manifest> ParseManifest(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return InvalidArgument(fmt::format("{}:{}:{}: not valid TOML: {}", origin, where.line,
                                       where.column, e.description()))
        .WithReason("bad_manifest");
  }
  Manifest m;
  Fields top(root, origin, "");
  TIMBRE_RETURN_IF_ERROR(top.String("id", &m.id, true));
  if (!ValidId(m.id)) {
    return Bad(origin, "id",
               fmt::format("\"{}\" may hold only letters, digits, '.', '-', '_'", m.id));
  }
  TIMBRE_RETURN_IF_ERROR(top.String("name", &m.name, true));
  if (!SnakeCase(m.name)) {
    return Bad(origin, "name", fmt::format("\"{}\" is not snake_case (a-z, 0-9, _)", m.name));
  }
  TIMBRE_RETURN_IF_ERROR(top.String("version", &m.version, true));
  if (!ValidId(m.version)) {
    return Bad(origin, "version",
               fmt::format("\"{}\" may hold only letters, digits, '.', '-', '_'", m.version));
  }
  TIMBRE_RETURN_IF_ERROR(top.String("framework", &m.framework, true));
  if (!SnakeCase(m.framework)) {
    return Bad(origin, "framework", fmt::format("\"{}\" is not snake_case", m.framework));
  }
  TIMBRE_RETURN_IF_ERROR(top.String("runtime", &m.runtime, false));
  if (m.runtime != "torchscript") {
    return Bad(origin, "runtime", fmt::format("unknown \"{}\" (known: torchscript)", m.runtime));
  }
  std::string kind;
  TIMBRE_RETURN_IF_ERROR(top.String("kind", &kind, true));
  if (kind == "embedder") {
    m.kind = ModelKind::kEmbedder;
  } else if (kind == "head") {
    m.kind = ModelKind::kHead;
  } else if (kind == "classifier") {
    m.kind = ModelKind::kClassifier;
  } else if (kind == "transcriber") {
    m.kind = ModelKind::kTranscriber;
  } else {
    return Bad(
        origin, "kind",
        fmt::format("unknown \"{}\" (known: embedder, head, classifier, transcriber)", kind));
  }
  TIMBRE_RETURN_IF_ERROR(top.String("file", &m.file, true));
  if (m.file.empty() || std::filesystem::path(m.file).is_absolute() ||
      m.file.find("..") != std::string::npos) {
    return Bad(origin, "file", "must name a file in the manifest's folder");
  }
  TIMBRE_RETURN_IF_ERROR(top.String("sha256", &m.sha256, true));
  if (!Hex64(m.sha256)) return Bad(origin, "sha256", "expected 64 hexadecimal digits");
  std::transform(m.sha256.begin(), m.sha256.end(), m.sha256.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  TIMBRE_RETURN_IF_ERROR(top.String("license", &m.license, true));
  TIMBRE_RETURN_IF_ERROR(top.String("source", &m.source, true));
  TIMBRE_RETURN_IF_ERROR(top.String("description", &m.description, false));
  TIMBRE_RETURN_IF_ERROR(ReadInput(top, m, origin));
  TIMBRE_RETURN_IF_ERROR(ReadOutput(top, m, origin));
  TIMBRE_RETURN_IF_ERROR(ReadTiers(top, m, origin));
  TIMBRE_RETURN_IF_ERROR(top.NoOthers());
  return m;
}

Result<Manifest> LoadManifest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot be read", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) {
    return Bad(path.string(), "file", "a manifest over 1 MiB is not a manifest");
  }
  return ParseManifest(text.str(), path.string());
}

std::string NamespacePart(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      out += c;
    } else if (c == '.') {
      out += '-';
    } else {
      out += '_';
    }
  }
  return out;
}

std::string TagPrefix(const Manifest& model, const Manifest* embedder) {
  const Manifest& e = embedder != nullptr ? *embedder : model;
  return fmt::format("nom:{}_{}_{}_{}_{}_", NamespacePart(model.framework), NamespacePart(e.name),
                     NamespacePart(e.version), NamespacePart(model.name),
                     NamespacePart(model.version));
}

std::string AnalysisName(const Manifest& model) {
  std::string id = model.id;
  std::replace(id.begin(), id.end(), '.', '-');
  return "model:" + id;
}

}  // namespace timbre::models
