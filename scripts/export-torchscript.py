#!/usr/bin/python3
"""Export a PyTorch model as a TorchScript file plus a timbre manifest.

timbre runs TorchScript through libtorch and reads everything else it needs to
know about a model (how to compute its input, what its output means) from a
TOML manifest beside the file; docs/models.md is the contract for both. This
tool writes <id>.pt and <id>.toml into --out-dir after checking that the
exported module loads back and returns the advertised output size.

Also imported as a library (scripts/make-test-models.py, bench/model-bench.py)
for manifest_toml(), check_manifest() and sha256_file().
"""

import argparse
import hashlib
import importlib.util
import math
import os
import re
import struct
import sys
import warnings
import zipfile

# torch is imported lazily (in main) so that importing this file for its
# manifest helpers stays cheap.

ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")  # snake_case
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

KINDS = ("embedder", "head", "classifier")
LOGS = ("log10_1p", "db")
LAYOUTS = ("nfb", "ncfb")
ACTIVATIONS = ("none", "softmax", "sigmoid")
TIER_MODES = ("exclusive", "multilabel")
TIER_NAMES = ("high", "medium", "low")
TIER_KEYS = ("probability", "margin", "spread")

# Fields that only embedders and classifiers (which read log-mel patches) have.
FRONTEND_FIELDS = ("frontend", "sample_rate", "frame_size", "hop_size", "mel_bands",
                   "low_hz", "high_hz", "log", "log_scale", "patch_frames",
                   "patch_hop", "layout")


# --------------------------------------------------------------------------
# Manifest helpers (shared with the other scripts)
# --------------------------------------------------------------------------

def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def strip_debug_records(path):
    """Rewrite a TorchScript archive without its *.debug_pkl records.

    Those hold source ranges for error messages, including the absolute paths
    of the exporting script and of torch's own modules, so they would make the
    bytes (and the sha256 in the manifests) depend on where the checkout and
    torch live. libtorch loads archives without them. Records stay uncompressed
    and 64-byte aligned, as torch writes them.
    """
    with zipfile.ZipFile(path) as src:
        records = [(info.filename, src.read(info)) for info in src.infolist()
                   if not info.filename.endswith(".debug_pkl")]
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as dst:
        for name, data in records:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            # Pad the local header's extra field (id "FB", as torch does) so
            # that the record's data starts on a 64-byte boundary.
            header_end = f.tell() + 30 + len(name.encode())
            pad = -(header_end + 4) % 64
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            dst.writestr(info, data)


def _toml_string(s):
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append("\\u%04X" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value):
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("manifest numbers must be finite, got %r" % value)
        # Whole numbers are written as integers (high_hz = 8000), as in the
        # examples of docs/models.md; timbre reads either form as a number.
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join("%s = %s" % (k, _toml_value(v)) for k, v in value.items()) + " }"
    raise TypeError("cannot write %r to TOML" % (value,))


def manifest_toml(doc):
    """Render a manifest dict as TOML.

    Top-level dict values become [tables] (in insertion order, after the plain
    keys); dicts inside a table become inline tables, like the tier thresholds
    `high = { probability = 0.8, ... }` of docs/models.md. None values are left out.
    """
    lines = []
    tables = []
    for key, value in doc.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append("%s = %s" % (key, _toml_value(value)))
    for key, table in tables:
        entries = [(k, v) for k, v in table.items() if v is not None]
        if not entries:
            continue
        lines.append("")
        lines.append("[%s]" % key)
        for k, v in entries:
            lines.append("%s = %s" % (k, _toml_value(v)))
    return "\n".join(lines) + "\n"


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def check_manifest(doc):
    """Check a manifest dict against docs/models.md; returns a list of messages
    ("output.labels: 3 labels, but output.dim says 2"), empty when it is valid."""
    errors = []
    err = errors.append

    for key in ("id", "name", "version", "framework", "kind", "file", "sha256",
                "license", "source"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            err("%s: missing (a non-empty string is required)" % key)
    if errors:
        return errors

    if not ID_RE.match(doc["id"]):
        err("id: %r may only hold letters, digits, '.', '-' and '_'" % doc["id"])
    if not NAME_RE.match(doc["name"]):
        err("name: %r is not snake_case (lower-case letters, digits, single '_')" % doc["name"])
    # version and framework become parts of tag names; hold them to the id rules.
    for key in ("version", "framework"):
        if not ID_RE.match(doc[key]):
            err("%s: %r may only hold letters, digits, '.', '-' and '_'" % (key, doc[key]))
    if doc.get("runtime", "torchscript") != "torchscript":
        err("runtime: %r is not supported (only torchscript)" % doc.get("runtime"))
    kind = doc["kind"]
    if kind not in KINDS:
        err("kind: %r is not one of %s" % (kind, ", ".join(KINDS)))
    if not SHA256_RE.match(doc["sha256"]):
        err("sha256: expected 64 lower-case hex digits")
    if "/" in doc["file"] or "\\" in doc["file"] or doc["file"] in (".", ".."):
        err("file: %r should be a file name in the manifest's folder" % doc["file"])

    inp = doc.get("input") or {}
    out = doc.get("output") or {}
    tiers = doc.get("tiers") or {}

    if kind == "head":
        emb = inp.get("embedder")
        if not isinstance(emb, str) or not ID_RE.match(emb):
            err("input.embedder: a head needs the id of its embedder")
        for key in FRONTEND_FIELDS:
            if key in inp:
                err("input.%s: a head reads embeddings, not log-mel patches" % key)
    elif kind in ("embedder", "classifier"):
        if "embedder" in inp:
            err("input.embedder: only heads name an embedder")
        if inp.get("frontend") != "logmel":
            err("input.frontend: must be \"logmel\"")
        sr = inp.get("sample_rate")
        if not _is_int(sr) or not 8000 <= sr <= 96000:
            err("input.sample_rate: an integer from 8000 to 96000 is required")
        for key in ("frame_size", "hop_size", "patch_frames", "patch_hop"):
            if not _is_int(inp.get(key)) or inp.get(key) < 1:
                err("input.%s: a positive integer is required" % key)
        bands = inp.get("mel_bands")
        if not _is_int(bands) or not 1 <= bands <= 512:
            err("input.mel_bands: an integer from 1 to 512 is required")
        low = inp.get("low_hz", 0)
        high = inp.get("high_hz", sr / 2 if _is_int(sr) else None)
        if not _is_number(low) or low < 0:
            err("input.low_hz: a number >= 0 is required")
        elif not _is_number(high) or high <= low:
            err("input.high_hz: a number above low_hz is required")
        if inp.get("log") not in LOGS:
            err("input.log: must be one of %s" % ", ".join(LOGS))
        if "log_scale" in inp and (not _is_number(inp["log_scale"]) or inp["log_scale"] <= 0):
            err("input.log_scale: a positive number is required")
        if inp.get("layout", "nfb") not in LAYOUTS:
            err("input.layout: must be one of %s" % ", ".join(LAYOUTS))

    labels = out.get("labels")
    dim = out.get("dim")
    if dim is not None and (not _is_int(dim) or dim < 1):
        err("output.dim: a positive integer is required")
    if kind == "embedder":
        if dim is None:
            err("output.dim: an embedder needs its vector size")
        if labels is not None:
            err("output.labels: an embedder returns vectors, not labels")
        if tiers:
            err("tiers: an embedder has no labels to tier")
    elif kind in ("head", "classifier"):
        if not isinstance(labels, list) or not labels or \
                not all(isinstance(l, str) and l for l in labels):
            err("output.labels: a non-empty array of non-empty strings is required")
            labels = None
        else:
            if len(set(labels)) != len(labels):
                err("output.labels: labels must be unique")
            if _is_int(dim) and dim != len(labels):
                err("output.labels: %d labels, but output.dim says %d" % (len(labels), dim))
    if out.get("activation", "none") not in ACTIVATIONS:
        err("output.activation: must be one of %s" % ", ".join(ACTIVATIONS))
    if "tuple_index" in out and (not _is_int(out["tuple_index"]) or out["tuple_index"] < 0):
        err("output.tuple_index: an integer >= 0 is required")

    if tiers.get("mode", "exclusive") not in TIER_MODES:
        err("tiers.mode: must be one of %s" % ", ".join(TIER_MODES))
    if "labels" in tiers:
        tl = tiers["labels"]
        if not isinstance(tl, list) or not all(isinstance(l, str) for l in tl):
            err("tiers.labels: an array of strings is required")
        elif labels:
            unknown = [l for l in tl if l not in labels]
            if unknown:
                err("tiers.labels: %s not in output.labels" % ", ".join(map(repr, unknown)))
    for pair in tiers.get("contradicts", []):
        if not isinstance(pair, list) or len(pair) != 2 or \
                not all(isinstance(l, str) and l for l in pair) or pair[0] == pair[1]:
            err("tiers.contradicts: %r is not a pair of two different labels" % (pair,))
    for tier in TIER_NAMES:
        if tier in tiers:
            table = tiers[tier]
            if not isinstance(table, dict) or set(table) - set(TIER_KEYS) or \
                    not all(_is_number(v) for v in table.values()):
                err("tiers.%s: a table of %s numbers is required" % (tier, "/".join(TIER_KEYS)))
    return errors


def patch_shape(inp):
    """Shape of one patch as timbre feeds it (without the batch dimension)."""
    if inp.get("layout", "nfb") == "ncfb":
        return [1, inp["patch_frames"], inp["mel_bands"]]
    return [inp["patch_frames"], inp["mel_bands"]]


# --------------------------------------------------------------------------
# The command-line tool
# --------------------------------------------------------------------------

EPILOG = """\
example (an embedder built by a function in my_model.py):

  scripts/export-torchscript.py --module my_model.py --factory load_model \\
      --id my-embedder-1.0 --name my_embedder --version 1.0 --kind embedder \\
      --license MIT --source https://example.org/my-embedder \\
      --sample-rate 16000 --frame-size 512 --hop-size 256 --mel-bands 96 \\
      --high-hz 8000 --log log10_1p --patch-frames 128 --patch-hop 62 \\
      --layout nfb --dim 200 --out-dir ~/.local/share/timbre/models

example (a mood head for that embedder, saved whole with torch.save):

  scripts/export-torchscript.py --pickled mood_head.pt --example-shape 1,200 \\
      --id mood-happy-1.0 --name mood_happy --version 1.0 --kind head \\
      --embedder my-embedder-1.0 --labels happy,not_happy --activation softmax \\
      --tiers-labels happy --license MIT --source https://example.org/mood \\
      --out-dir ~/.local/share/timbre/models

The exported module is loaded back and run on inputs of two batch sizes; the
output's last dimension must equal --dim (embedders) or the number of --labels.
Manifest fields are described in docs/models.md.
"""


def _csv(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _shape(text):
    try:
        dims = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, e.g. 1,128,96")
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError("dimensions must be positive")
    return dims


def make_parser():
    p = argparse.ArgumentParser(
        prog="export-torchscript.py",
        description="Turn a PyTorch model into a TorchScript file and a timbre manifest "
                    "(<id>.pt and <id>.toml in --out-dir).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)

    src = p.add_argument_group("the model (one of)")
    src.add_argument("--module", metavar="FILE.py",
                     help="Python file defining the model; used with --factory")
    src.add_argument("--factory", metavar="NAME",
                     help="function in --module that returns the torch.nn.Module, weights loaded")
    src.add_argument("--pickled", metavar="MODEL.pt",
                     help="a whole model saved with torch.save(model, ...) (not a state_dict)")
    src.add_argument("--example-shape", type=_shape, metavar="N,...",
                     help="input shape to trace and test with, batch first (e.g. 1,128,96). "
                          "Derived from the frontend options for embedders and classifiers; "
                          "required for heads (1,DIM of the embedder)")

    out = p.add_argument_group("where")
    out.add_argument("--out-dir", required=True, metavar="DIR",
                     help="folder to write <id>.pt and <id>.toml into (created if missing)")
    out.add_argument("--force", action="store_true", help="overwrite existing files")

    meta = p.add_argument_group("manifest")
    meta.add_argument("--id", required=True,
                      help="unique id: letters, digits, '.', '-', '_' (e.g. my-embedder-1.0)")
    meta.add_argument("--name", required=True, help="snake_case name used in tag names")
    meta.add_argument("--version", required=True, help="the model's build, e.g. 1.0")
    meta.add_argument("--framework", default="pytorch",
                      help="where the model comes from (default: %(default)s)")
    meta.add_argument("--kind", required=True, choices=KINDS)
    meta.add_argument("--license", required=True, help="the model's licence, e.g. MIT")
    meta.add_argument("--source", required=True, help="where the model came from (URL)")
    meta.add_argument("--description", help="optional one-line description")

    fe = p.add_argument_group("input (embedders and classifiers: the log-mel frontend)")
    fe.add_argument("--sample-rate", type=int, metavar="HZ", help="8000-96000")
    fe.add_argument("--frame-size", type=int, metavar="N", help="STFT frame, samples")
    fe.add_argument("--hop-size", type=int, metavar="N", help="STFT hop, samples")
    fe.add_argument("--mel-bands", type=int, metavar="N", help="1-512")
    fe.add_argument("--low-hz", type=float, default=0.0, metavar="HZ",
                    help="lowest band edge (default: 0)")
    fe.add_argument("--high-hz", type=float, metavar="HZ",
                    help="highest band edge (default: half the sample rate)")
    fe.add_argument("--log", choices=LOGS,
                    help="log10_1p: log10(1 + scale*energy); db: 10*log10(max(energy, 1e-10))")
    fe.add_argument("--log-scale", type=float, metavar="X",
                    help="scale of log10_1p (default: 10000)")
    fe.add_argument("--patch-frames", type=int, metavar="N", help="frames per patch")
    fe.add_argument("--patch-hop", type=int, metavar="N", help="frames between patch starts")
    fe.add_argument("--layout", choices=LAYOUTS, default="nfb",
                    help="nfb = [N, frames, bands], ncfb = [N, 1, frames, bands] "
                         "(default: %(default)s)")
    hd = p.add_argument_group("input (heads)")
    hd.add_argument("--embedder", metavar="ID", help="id of the embedder whose vectors it reads")

    op = p.add_argument_group("output")
    op.add_argument("--dim", type=int, metavar="N", help="embedders: vector size")
    op.add_argument("--labels", type=_csv, metavar="A,B,...",
                    help="heads and classifiers: labels in the model's output order")
    op.add_argument("--activation", choices=ACTIVATIONS, default="none",
                    help="applied by timbre; none = the model returns probabilities "
                         "(default: %(default)s)")
    op.add_argument("--tuple-index", type=int, metavar="I",
                    help="when the model returns a tuple, which element to read (default: 0)")

    ti = p.add_argument_group("tiers (heads and classifiers)")
    ti.add_argument("--tiers-mode", choices=TIER_MODES,
                    help="exclusive: the opposing score is the best other label; "
                         "multilabel: 1 - p (default: exclusive)")
    ti.add_argument("--tiers-labels", type=_csv, metavar="A,B,...",
                    help="labels that may become tags (default: all)")
    ti.add_argument("--contradicts", type=_csv, action="append", metavar="A,B",
                    help="two labels never tagged together; repeatable")
    return p


def build_manifest(args, file_name, sha256):
    """The manifest dict for the parsed arguments (field order as in docs/models.md)."""
    doc = {
        "id": args.id, "name": args.name, "version": args.version,
        "framework": args.framework, "kind": args.kind, "file": file_name,
        "sha256": sha256, "license": args.license, "source": args.source,
        "description": args.description,
    }
    if args.kind == "head":
        doc["input"] = {"embedder": args.embedder}
    else:
        high = args.high_hz if args.high_hz is not None else \
            (args.sample_rate / 2 if args.sample_rate else None)
        log_scale = None
        if args.log == "log10_1p":
            log_scale = args.log_scale if args.log_scale is not None else 10000.0
        doc["input"] = {
            "frontend": "logmel", "sample_rate": args.sample_rate,
            "frame_size": args.frame_size, "hop_size": args.hop_size,
            "mel_bands": args.mel_bands, "low_hz": args.low_hz, "high_hz": high,
            "log": args.log, "log_scale": log_scale,
            "patch_frames": args.patch_frames, "patch_hop": args.patch_hop,
            "layout": args.layout,
        }
        # check_manifest treats a missing key as "default"; keep the explicit
        # keys only when set so that missing required ones are reported.
        doc["input"] = {k: v for k, v in doc["input"].items() if v is not None}
    doc["output"] = {"dim": args.dim, "labels": args.labels,
                     "activation": None if args.kind == "embedder" else args.activation,
                     "tuple_index": args.tuple_index}
    doc["output"] = {k: v for k, v in doc["output"].items() if v is not None}
    if args.kind != "embedder":
        tiers = {"mode": args.tiers_mode, "labels": args.tiers_labels,
                 "contradicts": args.contradicts}
        doc["tiers"] = {k: v for k, v in tiers.items() if v is not None}
    return doc


def check_arguments(parser, args):
    """Argument-level checks, reported by argparse (exit status 2)."""
    if (args.pickled is None) == (args.module is None):
        parser.error("give either --module FILE.py --factory NAME or --pickled MODEL.pt")
    if args.module is not None and not args.factory:
        parser.error("--module needs --factory NAME")
    if args.factory and args.module is None:
        parser.error("--factory needs --module FILE.py")

    frontend_given = [name for name in ("sample_rate", "frame_size", "hop_size", "mel_bands",
                                        "high_hz", "log", "log_scale", "patch_frames",
                                        "patch_hop")
                      if getattr(args, name) is not None]
    if args.kind == "head":
        if frontend_given:
            parser.error("a head reads embeddings; frontend options (--%s) do not apply"
                         % frontend_given[0].replace("_", "-"))
        if not args.embedder:
            parser.error("a head needs --embedder ID")
        if not args.example_shape:
            parser.error("a head needs --example-shape 1,DIM (DIM: the embedder's vector size)")
        if len(args.example_shape) != 2:
            parser.error("a head reads [N, dim]: --example-shape needs two numbers")
    else:
        if args.embedder:
            parser.error("--embedder is for heads only")
        missing = [name for name in ("sample_rate", "frame_size", "hop_size", "mel_bands",
                                     "log", "patch_frames", "patch_hop")
                   if getattr(args, name) is None]
        if missing:
            parser.error("an %s needs %s" % (args.kind, ", ".join(
                "--" + m.replace("_", "-") for m in missing)))
        if args.log == "db" and args.log_scale is not None:
            parser.error("--log-scale only applies to --log log10_1p")
    if args.kind == "embedder":
        if args.dim is None:
            parser.error("an embedder needs --dim N")
        if args.labels or args.tiers_mode or args.tiers_labels or args.contradicts:
            parser.error("an embedder has no labels (--labels and --tiers-* are for "
                         "heads and classifiers)")
    elif not args.labels:
        parser.error("a %s needs --labels A,B,..." % args.kind)
    for pair in args.contradicts or []:
        if len(pair) != 2:
            parser.error("--contradicts takes two labels: A,B")


def fail(message):
    sys.exit("export-torchscript: error: " + message)


def load_model(args):
    import torch

    if args.module:
        path = os.path.abspath(args.module)
        if not os.path.isfile(path):
            fail("%s: no such file" % args.module)
        # Let the model file import its neighbours (a models/ package beside it, ...).
        sys.path.insert(0, os.path.dirname(path))
        spec = importlib.util.spec_from_file_location("_timbre_export_model", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        factory = getattr(module, args.factory, None)
        if not callable(factory):
            fail("%s has no function %r" % (args.module, args.factory))
        model = factory()
        origin = "%s:%s()" % (args.module, args.factory)
    else:
        if not os.path.isfile(args.pickled):
            fail("%s: no such file" % args.pickled)
        # Unpickling imports the model's classes by module name; let those
        # living beside the caller be found.
        sys.path.insert(0, os.getcwd())
        # torch.load hands a TorchScript archive on to torch.jit.load, with a
        # warning that is noise here: such a file only needs its manifest.
        warnings.filterwarnings("ignore", message=".*looks like a TorchScript archive")
        try:
            model = torch.load(args.pickled, map_location="cpu")
        except Exception as e:
            fail("%s: cannot load (%s: %s). A pickled model needs its classes importable "
                 "under the module names it was saved from (run from that code's folder or "
                 "set PYTHONPATH); classes defined in a script's __main__ cannot be found, "
                 "so use --module FILE.py --factory NAME instead" % (
                     args.pickled, type(e).__name__, e))
        origin = args.pickled
    if isinstance(model, dict):
        fail("%s holds a dict (a state_dict or checkpoint?), not a model; write a factory "
             "that builds the model, loads these weights and returns it, and use "
             "--module FILE.py --factory NAME" % origin)
    if not isinstance(model, torch.nn.Module):
        fail("%s returned %s, not a torch.nn.Module" % (origin, type(model).__name__))
    return model


def export(model, example_shape):
    """Script the model, or trace it if scripting fails; returns (module, how)."""
    import torch

    model = model.to("cpu").eval()  # eval: dropout off, batch norm on running stats
    if isinstance(model, torch.jit.ScriptModule):
        return model, "already TorchScript"
    try:
        return torch.jit.script(model), "torch.jit.script"
    except Exception as e:  # scripting fails on many dynamic Python constructs
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print("torch.jit.script failed (%s); tracing instead" % first_line, file=sys.stderr)
    if example_shape is None:
        fail("tracing needs --example-shape")
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(example_shape))
    print("note: traced modules freeze Python control flow to the path the example "
          "input took", file=sys.stderr)
    return traced, "torch.jit.trace"


def check_output(module, doc, example_shape):
    """Run the module on two batch sizes; returns an error message or None."""
    import torch

    out_spec = doc["output"]
    want = out_spec.get("dim") if doc["kind"] == "embedder" else len(out_spec["labels"])
    what = "--dim" if doc["kind"] == "embedder" else "the number of --labels"
    index = out_spec.get("tuple_index", 0)
    gen = torch.Generator().manual_seed(0)
    warned = False
    # A second, different batch size catches modules (often traced ones) that
    # baked the example's batch size in; timbre's last batch is usually smaller.
    for attempt, batch in enumerate((example_shape[0], example_shape[0] + 1)):
        x = torch.randn([batch] + list(example_shape[1:]), generator=gen)
        with torch.no_grad():
            try:
                y = module(x)
            except Exception as e:
                # TorchScript errors carry a long traceback; the cause is its last line.
                lines = [l for l in str(e).strip().splitlines() if l.strip()]
                hint = " (it ran on batch %d: does it fix the batch size?)" % example_shape[0] \
                    if attempt else ""
                return "the model fails on input %s: %s%s" % (
                    list(x.shape), lines[-1] if lines else type(e).__name__, hint)
        if isinstance(y, (tuple, list)):
            if index >= len(y):
                return "the model returns %d values; --tuple-index %d is out of range" % (
                    len(y), index)
            y = y[index]
        if not isinstance(y, torch.Tensor):
            return "the model returns %s, not a tensor (see --tuple-index)" % type(y).__name__
        if y.dim() != 2 or y.shape[0] != batch:
            return "input %s gave output %s; expected [%d, %d]" % (
                list(x.shape), list(y.shape), batch, want)
        if y.shape[1] != want:
            return "output has %d values per patch, but %s says %d" % (y.shape[1], what, want)
        if not torch.isfinite(y).all():
            return "the output holds NaN or infinite values on input %s" % list(x.shape)
        if doc["kind"] != "embedder" and out_spec.get("activation", "none") == "none" and \
                (y.min() < 0 or y.max() > 1) and not warned:
            warned = True
            print("warning: scores outside [0, 1] with --activation none; does the model "
                  "return logits (then use --activation softmax or sigmoid)?", file=sys.stderr)
    return None


def main(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)

    if args.kind == "head":
        example_shape = args.example_shape
    else:
        # timbre feeds exactly this per-patch shape, so a different one is an error.
        per_patch = patch_shape({"layout": args.layout, "patch_frames": args.patch_frames,
                                 "mel_bands": args.mel_bands})
        if args.example_shape and args.example_shape[1:] != per_patch:
            parser.error("--example-shape %s does not match what timbre feeds this %s: "
                         "[N, %s] (from --layout, --patch-frames, --mel-bands)" % (
                             ",".join(map(str, args.example_shape)), args.kind,
                             ", ".join(map(str, per_patch))))
        example_shape = args.example_shape or [1] + per_patch

    file_name = args.id + ".pt"
    # Validate the manifest before the (possibly slow) export; the checksum is a stand-in.
    errors = check_manifest(build_manifest(args, file_name, "0" * 64))
    if errors:
        parser.error("invalid manifest:\n  " + "\n  ".join(errors))

    os.makedirs(args.out_dir, exist_ok=True)
    pt_path = os.path.join(args.out_dir, file_name)
    toml_path = os.path.join(args.out_dir, args.id + ".toml")
    existing = [p for p in (pt_path, toml_path) if os.path.exists(p)]
    if existing and not args.force:
        fail("%s already exist%s (use --force to overwrite)" % (
            " and ".join(existing), "s" if len(existing) == 1 else ""))

    import torch

    model = load_model(args)
    module, how = export(model, example_shape)

    # Save under temporary names and check what libtorch will actually load;
    # only a module that passes replaces the final files.
    tmp_pt = pt_path + ".tmp"
    tmp_toml = toml_path + ".tmp"
    try:
        module.save(tmp_pt)
        problem = check_output(torch.jit.load(tmp_pt, map_location="cpu"),
                               build_manifest(args, file_name, "0" * 64), example_shape)
        if problem:
            fail(problem)
        doc = build_manifest(args, file_name, sha256_file(tmp_pt))
        with open(tmp_toml, "w", encoding="utf-8") as f:
            f.write(manifest_toml(doc))
        os.replace(tmp_pt, pt_path)
        os.replace(tmp_toml, toml_path)
    finally:
        for p in (tmp_pt, tmp_toml):
            if os.path.exists(p):
                os.remove(p)

    print("exported %s (%s): %s (%d bytes, sha256 %s...) and %s" % (
        args.id, how, pt_path, os.path.getsize(pt_path), doc["sha256"][:12], toml_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
