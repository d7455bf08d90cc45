#include "timbre/audio/tag_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <taglib/apefile.h>
#include <taglib/apetag.h>
#include <taglib/flacfile.h>
#include <taglib/id3v2tag.h>
#include <taglib/mp4file.h>
#include <taglib/mp4tag.h>
#include <taglib/mpcfile.h>
#include <taglib/mpegfile.h>
#include <taglib/opusfile.h>
#include <taglib/textidentificationframe.h>
#include <taglib/tpropertymap.h>
#include <taglib/vorbisfile.h>
#include <taglib/wavpackfile.h>
#include <taglib/xiphcomment.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "timbre/core/text.h"

namespace timbre::audio {
namespace {

namespace fs = std::filesystem;

std::string Join(const TagLib::StringList& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += "; ";
    out += v.to8Bit(true);
  }
  return out;
}

TagLib::String Utf8(const std::string& s) { return TagLib::String(s, TagLib::String::UTF8); }

constexpr const char* kItunesFreeform = "----:com.apple.iTunes:";

// The fields of one tag block, whatever its format: read a field, set one.
class TagAccess {
 public:
  virtual ~TagAccess() = default;
  virtual std::string Get(const std::string& name) const = 0;
  virtual void Set(const std::string& name, const std::string& value) = 0;
};

class Id3v2Access : public TagAccess {
 public:
  explicit Id3v2Access(TagLib::ID3v2::Tag* tag) : tag_(tag) {}

  std::string Get(const std::string& name) const override {
    if (const char* id = FrameId(name)) {
      const auto& frames = tag_->frameListMap()[id];
      return frames.isEmpty() ? std::string() : frames.front()->toString().to8Bit(true);
    }
    if (auto* frame = FindUserText(name)) {
      TagLib::StringList fields = frame->fieldList();
      if (!fields.isEmpty()) fields.erase(fields.begin());  // the description
      return Join(fields);
    }
    return {};
  }

  void Set(const std::string& name, const std::string& value) override {
    if (const char* id = FrameId(name)) {
      tag_->removeFrames(id);
      if (value.empty()) return;
      auto* frame = new TagLib::ID3v2::TextIdentificationFrame(id, TagLib::String::UTF8);
      frame->setText(Utf8(value));
      tag_->addFrame(frame);  // the tag owns it
      return;
    }
    while (auto* old = FindUserText(name)) tag_->removeFrame(old);
    if (value.empty()) return;
    auto* frame = new TagLib::ID3v2::UserTextIdentificationFrame(TagLib::String::UTF8);
    frame->setDescription(Utf8(name));
    frame->setText(Utf8(value));
    tag_->addFrame(frame);
  }

 private:
  static const char* FrameId(const std::string& name) {
    if (name == "BPM") return "TBPM";
    if (name == "INITIALKEY") return "TKEY";
    return nullptr;
  }

  // TXXX descriptions compare without case, as players read them.
  TagLib::ID3v2::UserTextIdentificationFrame* FindUserText(const std::string& name) const {
    const std::string want = AsciiUpper(name);
    for (auto* f : tag_->frameList("TXXX")) {
      auto* user = dynamic_cast<TagLib::ID3v2::UserTextIdentificationFrame*>(f);
      if (user != nullptr && AsciiUpper(user->description().to8Bit(true)) == want) return user;
    }
    return nullptr;
  }

  TagLib::ID3v2::Tag* tag_;
};

class XiphAccess : public TagAccess {
 public:
  explicit XiphAccess(TagLib::Ogg::XiphComment* tag) : tag_(tag) {}
  std::string Get(const std::string& name) const override {
    const auto& fields = tag_->fieldListMap();
    auto it = fields.find(Utf8(AsciiUpper(name)));
    return it == fields.end() ? std::string() : Join(it->second);
  }
  void Set(const std::string& name, const std::string& value) override {
    if (value.empty()) {
      tag_->removeFields(Utf8(AsciiUpper(name)));
    } else {
      tag_->addField(Utf8(name), Utf8(value), true);
    }
  }

 private:
  TagLib::Ogg::XiphComment* tag_;
};

class ApeAccess : public TagAccess {
 public:
  explicit ApeAccess(TagLib::APE::Tag* tag) : tag_(tag) {}
  std::string Get(const std::string& name) const override {
    const auto& items = tag_->itemListMap();
    auto it = items.find(Utf8(AsciiUpper(name)));
    return it == items.end() ? std::string() : Join(it->second.values());
  }
  void Set(const std::string& name, const std::string& value) override {
    if (value.empty()) {
      tag_->removeItem(Utf8(AsciiUpper(name)));
    } else {
      tag_->addValue(Utf8(name), Utf8(value), true);
    }
  }

 private:
  TagLib::APE::Tag* tag_;
};

class Mp4Access : public TagAccess {
 public:
  explicit Mp4Access(TagLib::MP4::Tag* tag) : tag_(tag) {}
  std::string Get(const std::string& name) const override {
    if (name == "BPM") {
      return tag_->contains("tmpo") ? std::to_string(tag_->item("tmpo").toInt()) : std::string();
    }
    const TagLib::String atom = Atom(name);
    return tag_->contains(atom) ? Join(tag_->item(atom).toStringList()) : std::string();
  }
  void Set(const std::string& name, const std::string& value) override {
    if (value.empty()) {
      tag_->removeItem(name == "BPM" ? TagLib::String("tmpo") : Atom(name));
      return;
    }
    int bpm = 0;
    if (name == "BPM" &&
        std::from_chars(value.data(), value.data() + value.size(), bpm).ec == std::errc()) {
      tag_->setItem("tmpo", TagLib::MP4::Item(bpm));  // tmpo holds a whole number
      return;
    }
    tag_->setItem(Atom(name), TagLib::MP4::Item(TagLib::StringList(Utf8(value))));
  }

 private:
  // TagLib splits a free-form atom's key at colons into "----", mean and name, so a name
  // with its own namespace ("nom:...") takes that namespace as the mean: ----:nom:timbre_...
  static TagLib::String Atom(const std::string& name) {
    if (name.find(':') != std::string::npos) return Utf8("----:" + AsciiLower(name));
    return Utf8(kItunesFreeform + AsciiLower(name));
  }
  TagLib::MP4::Tag* tag_;
};

// The formats tags are written to, by extension, never by TagLib's guess from the content:
// that guess takes a Matroska file for MPEG audio, and an ID3v2 tag written before a
// Matroska header ruins the file. Null for any other extension.
std::unique_ptr<TagLib::File> OpenByExtension(const fs::path& path) {
  const std::string ext = AsciiLower(path.extension().string());
  const char* name = path.c_str();
  if (ext == ".mp3") return std::make_unique<TagLib::MPEG::File>(name, false);
  if (ext == ".flac") return std::make_unique<TagLib::FLAC::File>(name, false);
  if (ext == ".ogg" || ext == ".oga")
    return std::make_unique<TagLib::Ogg::Vorbis::File>(name, false);
  if (ext == ".opus") return std::make_unique<TagLib::Ogg::Opus::File>(name, false);
  if (ext == ".m4a" || ext == ".mp4" || ext == ".m4b") {
    return std::make_unique<TagLib::MP4::File>(name, false);
  }
  if (ext == ".wv") return std::make_unique<TagLib::WavPack::File>(name, false);
  if (ext == ".ape") return std::make_unique<TagLib::APE::File>(name, false);
  if (ext == ".mpc") return std::make_unique<TagLib::MPC::File>(name, false);
  return nullptr;
}

// One file opened for tag editing: its tag block and how to save it.
class TagEditor {
 public:
  static Result<std::unique_ptr<TagEditor>> Open(const fs::path& path) {
    auto editor = std::unique_ptr<TagEditor>(new TagEditor);
    editor->file_ = OpenByExtension(path);
    TagLib::File* file = editor->file_.get();
    if (file == nullptr) {
      return Unsupported(fmt::format("cannot write tags to {}: writing is supported for MP3, "
                                     "FLAC, Ogg Vorbis, Opus, MP4/M4A, WavPack, APE and Musepack",
                                     path.string()))
          .WithReason("unsupported_container");
    }
    if (!file->isValid()) {
      return Corrupt(fmt::format("cannot write tags to {}: TagLib cannot parse it as {}",
                                 path.string(), path.extension().string().substr(1)))
          .WithReason("corrupt_tags");
    }
    if (auto* f = dynamic_cast<TagLib::MPEG::File*>(file)) {
      editor->access_ = std::make_unique<Id3v2Access>(f->ID3v2Tag(true));
      // ID3v2.4, keeping an ID3v1 or APE tag the file already has, never adding one.
      const int keep = TagLib::MPEG::File::ID3v2 |
                       (f->hasID3v1Tag() ? TagLib::MPEG::File::ID3v1 : 0) |
                       (f->hasAPETag() ? TagLib::MPEG::File::APE : 0);
      editor->save_ = [f, keep] {
        return f->save(keep, TagLib::File::StripNone, TagLib::ID3v2::v4,
                       TagLib::File::DoNotDuplicate);
      };
    } else if (auto* f = dynamic_cast<TagLib::FLAC::File*>(file)) {
      editor->access_ = std::make_unique<XiphAccess>(f->xiphComment(true));
    } else if (auto* f = dynamic_cast<TagLib::Ogg::Vorbis::File*>(file)) {
      editor->access_ = std::make_unique<XiphAccess>(f->tag());
    } else if (auto* f = dynamic_cast<TagLib::Ogg::Opus::File*>(file)) {
      editor->access_ = std::make_unique<XiphAccess>(f->tag());
    } else if (auto* f = dynamic_cast<TagLib::MP4::File*>(file)) {
      editor->access_ = std::make_unique<Mp4Access>(f->tag());
    } else if (auto* f = dynamic_cast<TagLib::WavPack::File*>(file)) {
      editor->access_ = std::make_unique<ApeAccess>(f->APETag(true));
    } else if (auto* f = dynamic_cast<TagLib::APE::File*>(file)) {
      editor->access_ = std::make_unique<ApeAccess>(f->APETag(true));
    } else if (auto* f = dynamic_cast<TagLib::MPC::File*>(file)) {
      editor->access_ = std::make_unique<ApeAccess>(f->APETag(true));
    }
    if (!editor->save_) editor->save_ = [file] { return file->save(); };
    return editor;
  }

  TagAccess& access() { return *access_; }
  TagLib::File* file() { return file_.get(); }
  bool Save() { return save_(); }

 private:
  TagEditor() = default;

  std::unique_ptr<TagLib::File> file_;
  std::unique_ptr<TagAccess> access_;
  std::function<bool()> save_;
};

// What `fields` would change in the file the editor holds.
std::vector<TagChange> Changes(TagEditor& editor, const TagFields& fields) {
  std::vector<TagChange> out;
  for (const auto& [name, value] : fields) {
    std::string before = editor.access().Get(name);
    if (before != value) out.push_back({name, std::move(before), value});
  }
  return out;
}

Status Errno(const std::string& what, const fs::path& path, int err) {
  Status s = IoError(fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
  if (err == ENOSPC || err == EFBIG || err == EDQUOT) return std::move(s).WithReason("no_space");
  if (err == EACCES || err == EPERM || err == EROFS) return std::move(s).WithReason("read_only");
  return s;
}

// A temporary file beside the original; removed on destruction unless committed.
class TempFile {
 public:
  ~TempFile() {
    if (!path_.empty() && !committed_) ::unlink(path_.c_str());
  }
  // Copies `source` into a new hidden file in the same folder, keeping its extension so
  // TagLib recognises the format, and its permission bits.
  Status CopyFrom(const fs::path& source, mode_t mode) {
    std::string name =
        (source.parent_path() / ("." + source.filename().string() + ".timbre-XXXXXX")).string();
    const std::string ext = source.extension().string();
    name += ext;
    std::vector<char> buf(name.begin(), name.end());
    buf.push_back('\0');
    const int out = ::mkstemps(buf.data(), static_cast<int>(ext.size()));
    if (out < 0) return Errno("cannot create a temporary file beside", source, errno);
    path_ = buf.data();
    const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      const int err = errno;
      ::close(out);
      return Errno("cannot read", source, err);
    }
    Status status = Copy(in, out, source);
    ::close(in);
    if (status.ok() && ::fchmod(out, mode & 07777) != 0)
      status = Errno("cannot set mode of", path_, errno);
    if (::close(out) != 0 && status.ok()) status = Errno("cannot write", path_, errno);
    return status;
  }

  Status Sync() const {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path_, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    return rc == 0 ? Status::Ok() : Errno("cannot flush", path_, err);
  }

  Status CommitAs(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0) return Errno("cannot replace", target, errno);
    committed_ = true;
    // The rename is durable once the folder is flushed.
    const int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return Status::Ok();
  }

  const fs::path& path() const { return path_; }

 private:
  Status Copy(int in, int out, const fs::path& source) {
    std::vector<char> chunk(1 << 20);
    for (;;) {
      const ssize_t n = ::read(in, chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot read", source, errno);
      }
      if (n == 0) return Status::Ok();
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(out, chunk.data() + done, static_cast<size_t>(n - done));
        if (w < 0) {
          if (errno == EINTR) continue;
          return Errno("cannot write", path_, errno);
        }
        done += w;
      }
    }
  }

  fs::path path_;
  bool committed_ = false;
};

struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec mtime{};
  mode_t mode = 0;

  bool operator==(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

Result<FileIdentity> Identify(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound(fmt::format("no such file: {}", path.string()));
    return Errno("cannot read", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(fmt::format("not a regular file: {}", path.string()));
  }
  return FileIdentity{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_mode};
}

// Roughly what the copy may need: the file again, plus room for a grown tag block.
constexpr uint64_t kSpaceMargin = 1u << 20;

Status CheckFreeSpace(const fs::path& path, off_t size) {
  struct statvfs vfs {};
  if (::statvfs(path.parent_path().c_str(), &vfs) != 0) return Status::Ok();  // unknown: try
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free_bytes < static_cast<uint64_t>(size) + kSpaceMargin) {
    return IoError(fmt::format("not enough free space beside {} to rewrite it ({} bytes free, "
                               "{} needed)",
                               path.string(), free_bytes,
                               static_cast<uint64_t>(size) + kSpaceMargin))
        .WithReason("no_space");
  }
  return Status::Ok();
}

}  // namespace

Result<TagFields> ReadTagFields(const fs::path& path) {
  auto id = Identify(path);
  if (!id.ok()) return id.status();
  auto editor = TagEditor::Open(path);
  if (!editor.ok()) return editor.status();
  TagLib::File* file = (*editor)->file();
  TagFields out;
  for (const auto& [key, values] : file->properties()) {
    out[key.to8Bit(true)] = Join(values);
  }
  // TagLib's property map leaves out MP4 free-form atoms it has no name for: iTunes ones
  // by their name, others (----:nom:x) as "NOM:X".
  if (auto* mp4 = dynamic_cast<TagLib::MP4::File*>(file); mp4 != nullptr && mp4->tag()) {
    const std::string itunes = kItunesFreeform;
    for (const auto& [atom, item] : mp4->tag()->itemMap()) {
      const std::string name = atom.to8Bit(true);
      if (name.rfind("----:", 0) != 0) continue;
      const std::string key =
          AsciiUpper(name.rfind(itunes, 0) == 0 ? name.substr(itunes.size()) : name.substr(5));
      if (!out.count(key)) out[key] = Join(item.toStringList());
    }
  }
  return out;
}

Result<std::vector<TagChange>> PlanTagChanges(const fs::path& path, const TagFields& fields) {
  auto id = Identify(path);
  if (!id.ok()) return id.status();
  auto editor = TagEditor::Open(path);
  if (!editor.ok()) return editor.status();
  return Changes(**editor, fields);
}

Result<std::vector<TagChange>> WriteTagFields(const fs::path& path, const TagFields& fields,
                                              const TagWriteOptions& options) {
  auto before = Identify(path);
  if (!before.ok()) return before.status();
  // Root may write anywhere; a file without write permission bits is still left alone.
  if ((before->mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0 || ::access(path.c_str(), W_OK) != 0) {
    return IoError(fmt::format("{} is read-only: its tags were not written", path.string()))
        .WithReason("read_only");
  }
  std::vector<TagChange> changes;
  {
    auto editor = TagEditor::Open(path);
    if (!editor.ok()) return editor.status();
    changes = Changes(**editor, fields);
  }
  if (changes.empty()) return changes;
  TIMBRE_RETURN_IF_ERROR(CheckFreeSpace(path, before->size));

  TempFile temp;
  TIMBRE_RETURN_IF_ERROR(temp.CopyFrom(path, before->mode));
  {
    auto editor = TagEditor::Open(temp.path());
    if (!editor.ok()) return editor.status();
    for (const auto& c : changes) (*editor)->access().Set(c.name, c.after);
    if (!(*editor)->Save()) {
      return IoError(
          fmt::format("TagLib could not save the tags of {} (disk full?)", path.string()));
    }
  }
  // TagLib does not report every failed write: read the copy back before trusting it.
  {
    auto editor = TagEditor::Open(temp.path());
    if (!editor.ok() || !Changes(**editor, fields).empty()) {
      return IoError(fmt::format("the tags written to {} did not read back; file left as it was",
                                 path.string()));
    }
  }
  TIMBRE_RETURN_IF_ERROR(temp.Sync());
  if (options.before_commit) options.before_commit();
  auto now = Identify(path);
  if (!now.ok() || !(*now == *before)) {
    return IoError(fmt::format("{} changed while its tags were being written; left as it is now",
                               path.string()))
        .WithReason("changed_during_write");
  }
  TIMBRE_RETURN_IF_ERROR(temp.CommitAs(path));
  return changes;
}

}  // namespace timbre::audio
