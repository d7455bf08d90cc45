#!/usr/bin/python3
"""Convert Spotify's Basic Pitch from its TensorFlow.js graph to TorchScript.

    /usr/bin/python3 scripts/convert-basic-pitch.py --package PKG_DIR --out OUT_DIR

PKG_DIR is the npm package @spotify/basic-pitch@1.0.1 (scripts/fetch-basic-pitch.sh
installs it and prints its folder); its model/ holds model.json and the weight
shard. Writes OUT_DIR/basic-pitch.pt and OUT_DIR/basic-pitch.toml.

Nothing is re-implemented by hand: the graph's nodes are interpreted one by one
in torch with TensorFlow's semantics (NHWC convolutions, SAME padding, strided
slices with masks, mirror padding, ...) and the interpreter is traced. The
traced module takes float32 audio [N, 43844] (22050 Hz, one model window) and
returns (note [N,172,88], onset [N,172,88], contour [N,172,264]); N stays
dynamic because shape arithmetic is traced rather than baked in.

Needs Debian's python3-torch and python3-numpy (hence /usr/bin/python3). The
.pt is the same, byte for byte, on every run and wherever the checkout is.
"""

import argparse
import base64
import importlib.util
import json
import os
import sys
import time
import warnings

# TorchScript serializes some sets in hash order; a fixed seed keeps the bytes stable.
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np
import torch
import torch.nn.functional as F

VERSION = "1.0.1"
WINDOW = 43844          # 2 s at 22050 Hz minus one 256-sample hop
FRAMES = 172
INPUT_NAME = "input_2"
# Graph output names, as the package's inference.js maps them.
OUTPUTS = (("note", "Identity_1", 88), ("onset", "Identity_2", 88),
           ("contour", "Identity", 264))

MANIFEST = """\
# Spotify's Basic Pitch, converted from its TensorFlow.js graph by scripts/convert-basic-pitch.py
id = "basic-pitch"
name = "basic_pitch"
version = "{version}"
framework = "tfjs"
runtime = "torchscript"
kind = "transcriber"
file = "basic-pitch.pt"
sha256 = "{sha256}"
license = "Apache-2.0"
source = "npm:@spotify/basic-pitch@{version} model/model.json + model/group1-shard1of1.bin"
description = "Polyphonic note transcription: note, onset and pitch-contour posteriorgrams"

[input]
frontend = "waveform"
sample_rate = 22050
window = {window}

[output]
names = ["note", "onset", "contour"]
frames = {frames}
"""


class ConvertError(Exception):
    pass


# --------------------------------------------------------------------------
# Reading the TensorFlow.js model
# --------------------------------------------------------------------------

BYTES_PER_VALUE = {"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}
NUMPY_DTYPE = {"float32": "<f4", "int32": "<i4", "bool": "?", "uint8": "u1",
               "uint16": "<u2", "float16": "<f2"}


def read_model(package_dir):
    """model.json and its weights (name -> numpy array) from the package folder."""
    model_dir = os.path.join(package_dir, "model")
    json_path = os.path.join(model_dir, "model.json")
    if not os.path.isdir(package_dir):
        raise ConvertError("%s: no such folder" % package_dir)
    if not os.path.isfile(json_path):
        raise ConvertError("%s: not the basic-pitch package (no model/model.json); "
                           "run scripts/fetch-basic-pitch.sh for it" % package_dir)
    try:
        with open(json_path, encoding="utf-8") as f:
            model = json.load(f)
        topology = model["modelTopology"]["node"]
        manifest = model["weightsManifest"]
    except (ValueError, KeyError, TypeError) as e:
        raise ConvertError("%s: not a TensorFlow.js graph model (%s)" % (json_path, e))
    if model.get("format") != "graph-model":
        raise ConvertError("%s: format is %r, not graph-model" % (json_path, model.get("format")))

    # tfjs concatenates every shard of every group and decodes the specs in order.
    specs, blobs = [], []
    for group in manifest:
        specs.extend(group["weights"])
        for shard in group["paths"]:
            path = os.path.join(model_dir, shard)
            if not os.path.isfile(path):
                raise ConvertError("%s: weight shard missing" % path)
            with open(path, "rb") as f:
                blobs.append(f.read())
    return model, topology, decode_weights(b"".join(blobs), specs)


def decode_weights(data, specs):
    weights, offset = {}, 0
    for spec in specs:
        name, dtype, shape = spec["name"], spec["dtype"], spec["shape"]
        count = int(np.prod(shape, dtype=np.int64))
        stored = spec.get("quantization", {}).get("dtype", dtype)
        if stored not in BYTES_PER_VALUE:
            raise ConvertError("weight %s: unsupported dtype %s" % (name, stored))
        size = count * BYTES_PER_VALUE[stored]
        if offset + size > len(data):
            raise ConvertError("weight data ends %d bytes short of %s's end; is the shard "
                               "truncated?" % (offset + size - len(data), name))
        raw = np.frombuffer(data, NUMPY_DTYPE[stored], count, offset)
        weights[name] = dequantize(raw, dtype, spec.get("quantization")).reshape(shape)
        offset += size
    if offset != len(data):
        raise ConvertError("weight data has %d bytes the manifest does not describe"
                           % (len(data) - offset))
    return weights


def dequantize(raw, dtype, quantization):
    """As tfjs does: value = q * scale + min in double precision, then stored."""
    if quantization is None:
        return raw.astype(NUMPY_DTYPE[dtype]).copy()
    if quantization["dtype"] == "float16":
        return raw.astype(np.float32)
    values = raw.astype(np.float64) * quantization["scale"] + quantization["min"]
    return np.round(values).astype(np.int32) if dtype == "int32" else values.astype(np.float32)


# --------------------------------------------------------------------------
# Graph structure
# --------------------------------------------------------------------------

def attr_value(attr):
    """One node attribute from its JSON (protobuf) form to a Python value."""
    if "list" in attr:
        lst = attr["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "i" in attr:
        return int(attr["i"])
    if "s" in attr:
        return base64.b64decode(attr["s"]).decode()
    for key in ("f", "b", "type"):
        if key in attr:
            return attr[key]
    return attr


class Node:
    def __init__(self, raw):
        self.name = raw["name"]
        self.op = raw["op"]
        self.attrs = {k: attr_value(v) for k, v in raw.get("attr", {}).items()}
        self.inputs = []  # (node name, output index); control inputs (^x) carry no data
        for ref in raw.get("input", []):
            if ref.startswith("^"):
                continue
            name, _, index = ref.partition(":")
            self.inputs.append((name, int(index) if index else 0))


def execution_order(nodes, outputs):
    """The nodes the outputs depend on, each after its inputs (depth first, so
    the order is fixed by the graph alone)."""
    order, state = [], {}
    for out in outputs:
        stack = [(out, False)]
        while stack:
            name, expanded = stack.pop()
            if name not in nodes:
                raise ConvertError("graph has no node %r" % name)
            if expanded:
                if state[name] != "done":
                    state[name] = "done"
                    order.append(nodes[name])
                continue
            if name in state:  # reached again by another path
                continue
            state[name] = "open"  # open nodes are exactly the current path
            stack.append((name, True))
            for dep, _ in reversed(nodes[name].inputs):
                if state.get(dep) == "open":
                    raise ConvertError("graph has a cycle through %r" % dep)
                if dep not in state:
                    stack.append((dep, False))
    return order


# --------------------------------------------------------------------------
# Values: tensors live in torch; int32 constants and shapes stay on the host
# as numpy object arrays, whose elements are ints or, while tracing, the 0-dim
# tensors that x.shape yields, so batch-size arithmetic is recorded, not baked.
# --------------------------------------------------------------------------

def host_scalar(v):
    a = np.empty((), dtype=object)
    a[()] = v
    return a


def as_host(v):
    if isinstance(v, np.ndarray):
        return v.astype(object)
    return host_scalar(v)


def is_host(v):
    return isinstance(v, (np.ndarray, int, np.integer))


def host_ints(v):
    """A host value as a flat list of ints (constants only)."""
    return [int(e) for e in np.asarray(v, dtype=object).reshape(-1)]


def host_sizes(v):
    """A shape operand for torch: ints stay ints, traced sizes stay tensors."""
    return [e if isinstance(e, torch.Tensor) else int(e)
            for e in np.asarray(v, dtype=object).reshape(-1)]


def static_size(x, axis):
    """An axis length as a plain int. While tracing, x.shape yields tensors;
    reading one as an int bakes it into the trace, right for every axis but
    the batch, which no op here reads this way (checked at two batch sizes)."""
    return int(x.shape[axis])


def bit(mask, i):
    return (mask >> i) & 1


# --------------------------------------------------------------------------
# Ops. Each takes (node attrs, input values) and returns the output value.
# --------------------------------------------------------------------------

OPS = {}


def op(*names):
    def register(fn):
        for name in names:
            OPS[name] = fn
        return fn
    return register


UNARY = {
    "Neg": torch.neg, "Sigmoid": torch.sigmoid, "Square": torch.square,
    "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt, "Log": torch.log, "Exp": torch.exp,
    "Abs": torch.abs, "Relu": torch.relu, "Tanh": torch.tanh,
    "Relu6": lambda x: torch.clamp(x, 0.0, 6.0), "Elu": F.elu,
}


@op(*UNARY)
def op_unary(node, x):
    if is_host(x):
        if node.op != "Neg":
            raise ConvertError("%s: %s of a host (int) value" % (node.name, node.op))
        return -as_host(x)
    return UNARY[node.op](x)


@op("Identity")
def op_identity(node, x):
    return x


def div_no_nan(x, y):
    # TensorFlow: 0 wherever the divisor is 0, whatever the dividend.
    return torch.where(y == 0, torch.zeros_like(x / y), x / y)


BINARY = {
    "Add": torch.add, "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul,
    "RealDiv": torch.div, "Maximum": torch.maximum, "Minimum": torch.minimum,
    "DivNoNan": div_no_nan,
}
HOST_BINARY = {"Add": np.add, "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply}


@op(*BINARY)
def op_binary(node, x, y):
    if is_host(x) and is_host(y):
        if node.op not in HOST_BINARY:
            raise ConvertError("%s: %s of host (int) values" % (node.name, node.op))
        return HOST_BINARY[node.op](as_host(x), as_host(y))
    if is_host(x) or is_host(y):
        raise ConvertError("%s: %s mixes a host (int) value with a tensor" % (node.name, node.op))
    return BINARY[node.op](x, y)


REDUCE = {"Sum": torch.sum, "Min": torch.amin, "Max": torch.amax, "Mean": torch.mean}


@op(*REDUCE)
def op_reduce(node, x, axes):
    dims = host_ints(axes)
    keep = bool(node.attrs.get("keep_dims", False))
    if not dims:  # TensorFlow reduces over nothing: the input unchanged
        return x
    return REDUCE[node.op](x, dim=tuple(sorted(set(d % x.dim() for d in dims))), keepdim=keep)


@op("Shape")
def op_shape(node, x):
    shape = np.empty(x.dim(), dtype=object)
    for i in range(x.dim()):
        shape[i] = x.shape[i]
    return shape


@op("Reshape")
def op_reshape(node, x, shape):
    if is_host(x):
        return as_host(x).reshape(host_ints(shape))
    return torch.reshape(x, host_sizes(shape))


@op("Transpose")
def op_transpose(node, x, perm):
    perm = host_ints(perm)
    return as_host(x).transpose(perm) if is_host(x) else x.permute(perm)


@op("ExpandDims")
def op_expand_dims(node, x, dim):
    (d,) = host_ints(dim)
    if is_host(x):
        return np.expand_dims(as_host(x), d if d >= 0 else d + as_host(x).ndim + 1)
    return torch.unsqueeze(x, d)  # same negative-axis rule as TensorFlow


@op("Squeeze")
def op_squeeze(node, x):
    dims = node.attrs.get("squeeze_dims", [])
    if not dims:
        return torch.squeeze(x)
    for d in sorted({d % x.dim() for d in dims}, reverse=True):
        x = torch.squeeze(x, d)
    return x


@op("Pack")
def op_pack(node, *values):
    axis = int(node.attrs.get("axis", 0))
    if all(is_host(v) for v in values):
        items = [as_host(v) for v in values]
        return np.stack(items, axis=axis if axis >= 0 else axis + items[0].ndim + 1)
    return torch.stack(values, dim=axis)


@op("ConcatV2")
def op_concat(node, *values_and_axis):
    *values, axis = values_and_axis
    (axis,) = host_ints(axis)
    if all(is_host(v) for v in values):
        return np.concatenate([as_host(v) for v in values], axis=axis)
    return torch.cat(values, dim=axis)


def strided_slice_spec(node, begin, end, strides):
    """TensorFlow's sparse slice spec as a Python index tuple (Ellipsis, None
    for new axes, an int for shrunk axes, slices otherwise)."""
    a = node.attrs
    begin, end, strides = host_ints(begin), host_ints(end), host_ints(strides)
    spec = []
    for i in range(len(begin)):
        if bit(a.get("ellipsis_mask", 0), i):
            spec.append(Ellipsis)
        elif bit(a.get("new_axis_mask", 0), i):
            spec.append(None)
        elif bit(a.get("shrink_axis_mask", 0), i):
            spec.append(begin[i])  # masks do not apply to shrunk axes
        else:
            spec.append(slice(None if bit(a.get("begin_mask", 0), i) else begin[i],
                              None if bit(a.get("end_mask", 0), i) else end[i],
                              strides[i]))
    return tuple(spec)


def torch_index(x, spec):
    """x[spec], with negative steps (which torch lacks) done by flipping."""
    if not any(isinstance(s, slice) and s.step is not None and s.step < 0 for s in spec):
        return x[spec]
    # Expand the ellipsis so that each entry maps to one input axis.
    consumed = sum(1 for s in spec if s is not None and s is not Ellipsis)
    if Ellipsis in spec:
        at = spec.index(Ellipsis)
        spec = spec[:at] + (slice(None),) * (x.dim() - consumed) + spec[at + 1:]
    out, axis = [], 0
    for s in spec:
        if isinstance(s, slice) and s.step is not None and s.step < 0:
            # Only the size of this axis is read, so just a reversed batch axis is fixed by a trace.
            size = static_size(x, axis)
            start, stop, step = s.indices(size)
            x = torch.flip(x, [axis])
            out.append(slice(size - 1 - start, size - 1 - stop if stop >= 0 else None, -step))
        else:
            out.append(s)
        if s is not None:
            axis += 1
    return x[tuple(out)]


@op("StridedSlice")
def op_strided_slice(node, x, begin, end, strides):
    spec = strided_slice_spec(node, begin, end, strides)
    if is_host(x):
        picked = as_host(x)[spec]
        return picked if isinstance(picked, np.ndarray) else host_scalar(picked)
    return torch_index(x, spec)


@op("Pad", "PadV2")
def op_pad(node, x, paddings, value=None):
    pads = np.asarray(host_ints(paddings)).reshape(-1, 2)
    flat = [int(p) for pair in pads[::-1] for p in pair]  # torch: last axis first
    fill = 0.0 if value is None else float(value)
    return F.pad(x, flat, mode="constant", value=fill)


@op("MirrorPad")
def op_mirror_pad(node, x, paddings):
    mode = node.attrs.get("mode", "REFLECT")
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ConvertError("%s: unknown MirrorPad mode %r" % (node.name, mode))
    # REFLECT leaves out the edge sample, SYMMETRIC repeats it. Slices are
    # taken from the ends with negative indices, so no axis length is read.
    skip = 1 if mode == "REFLECT" else 0
    for axis, (before, after) in enumerate(np.asarray(host_ints(paddings)).reshape(-1, 2)):
        parts = []
        if before:
            parts.append(torch.flip(x.narrow(axis, skip, int(before)), [axis]))
        parts.append(x)
        if after:
            idx = [slice(None)] * x.dim()
            idx[axis] = slice(-int(after) - skip, -skip or None)
            parts.append(torch.flip(x[tuple(idx)], [axis]))
        if len(parts) > 1:
            x = torch.cat(parts, dim=axis)
    return x


def same_padding(size, kernel, stride, dilation):
    """TensorFlow's SAME: output ceil(size / stride), the extra cell at the end."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def conv2d(node, x, w):
    """Conv2D in the node's data format, with an HWIO filter, as TensorFlow."""
    a = node.attrs
    nhwc = a.get("data_format", "NHWC") == "NHWC"
    strides = a.get("strides", [1, 1, 1, 1])
    dilations = a.get("dilations", [1, 1, 1, 1]) or [1, 1, 1, 1]
    hw = (1, 2) if nhwc else (2, 3)
    stride = [strides[i] for i in hw]
    dilation = [dilations[i] for i in hw]
    if nhwc:
        x = x.permute(0, 3, 1, 2)
    kh, kw, cin = (static_size(w, i) for i in range(3))
    groups = static_size(x, 1) // cin  # fewer filter input channels: a grouped conv
    padding = a.get("padding", "VALID")
    if padding == "SAME":
        top, bottom = same_padding(static_size(x, 2), kh, stride[0], dilation[0])
        left, right = same_padding(static_size(x, 3), kw, stride[1], dilation[1])
        x = F.pad(x, [left, right, top, bottom])
    elif padding == "EXPLICIT":
        p = a["explicit_paddings"]
        pairs = [p[2 * i:2 * i + 2] for i in hw]
        x = F.pad(x, [pairs[1][0], pairs[1][1], pairs[0][0], pairs[0][1]])
    elif padding != "VALID":
        raise ConvertError("%s: unknown padding %r" % (node.name, padding))
    y = F.conv2d(x, w.permute(3, 2, 0, 1), stride=stride, dilation=dilation, groups=groups)
    return y.permute(0, 2, 3, 1) if nhwc else y


@op("Conv2D")
def op_conv2d(node, x, w):
    return conv2d(node, x, w)


FUSED_ACTIVATIONS = {"Relu": torch.relu, "Relu6": UNARY["Relu6"], "Elu": F.elu,
                     "Sigmoid": torch.sigmoid, "Tanh": torch.tanh}


@op("_FusedConv2D")
def op_fused_conv2d(node, x, w, *args):
    """Conv2D followed by the ops in fused_ops, as tfjs executes them."""
    fused = node.attrs.get("fused_ops", [])
    if not fused or fused[0] != "BiasAdd" or len(fused) > 2:
        raise ConvertError("%s: unsupported fused_ops %r" % (node.name, fused))
    nhwc = node.attrs.get("data_format", "NHWC") == "NHWC"
    bias = args[0] if nhwc else args[0].reshape(-1, 1, 1)
    y = conv2d(node, x, w) + bias
    if len(fused) == 1:
        return y
    act = fused[1]
    if act in FUSED_ACTIVATIONS:
        return FUSED_ACTIVATIONS[act](y)
    if act == "LeakyRelu":
        return F.leaky_relu(y, float(node.attrs.get("leakyrelu_alpha", 0.2)))
    if act == "Prelu":
        alpha = args[1]
        return torch.where(y >= 0, y, y * alpha)
    raise ConvertError("%s: unsupported fused activation %r" % (node.name, act))


# --------------------------------------------------------------------------
# The interpreter as a torch module
# --------------------------------------------------------------------------

def buffer_name(node_name, taken):
    base = node_name.split("model_1/", 1)[-1]
    base = "".join(c if c.isalnum() else "_" for c in base).strip("_") or "const"
    if base[0].isdigit():
        base = "c_" + base
    name, n = base, 1
    while name in taken:
        n += 1
        name = "%s_%d" % (base, n)
    taken.add(name)
    return name


class GraphModule(torch.nn.Module):
    """Runs a TensorFlow graph's nodes in order; float constants are buffers,
    int constants stay host values that shape the trace."""

    def __init__(self, topology, weights, input_name, output_names):
        super().__init__()
        nodes = {}
        for raw in topology:
            node = Node(raw)
            nodes[node.name] = node
        self.order = execution_order(nodes, output_names)
        self.input_name = input_name
        self.output_names = list(output_names)
        self.host_consts = {}
        self.buffer_of = {}
        taken = set()
        unknown = sorted({n.op for n in self.order
                          if n.op not in OPS and n.op not in ("Const", "Placeholder")})
        if unknown:
            raise ConvertError("graph uses ops this converter does not implement: %s"
                               % ", ".join(unknown))
        for node in self.order:
            if node.op == "Placeholder" and node.name != input_name:
                raise ConvertError("graph has a second input %r" % node.name)
            if node.op != "Const":
                continue
            if node.name not in weights:
                raise ConvertError("constant %s has no weights" % node.name)
            value = weights[node.name]
            if value.dtype == np.float32:
                name = buffer_name(node.name, taken)
                self.register_buffer(name, torch.from_numpy(value.copy()))
                self.buffer_of[node.name] = name
            else:
                self.host_consts[node.name] = value

    def op_counts(self):
        counts = {}
        for node in self.order:
            counts[node.op] = counts.get(node.op, 0) + 1
        return counts

    def forward(self, x):
        env = {}
        for node in self.order:
            if node.op == "Placeholder":
                value = x
            elif node.op == "Const":
                if node.name in self.buffer_of:
                    value = getattr(self, self.buffer_of[node.name])
                else:
                    value = self.host_consts[node.name]
            else:
                args = [env[name] if index == 0 else env[name][index]
                        for name, index in node.inputs]
                try:
                    value = OPS[node.op](node, *args)
                except ConvertError:
                    raise
                except Exception as e:
                    raise ConvertError("%s (%s): %s" % (node.name, node.op, e)) from e
            env[node.name] = value
        return [env[name] for name in self.output_names]


class BasicPitch(torch.nn.Module):
    """Basic Pitch with timbre's interface: audio [N, 43844] in,
    (note, onset, contour) out."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def forward(self, audio):
        note, onset, contour = self.graph(audio.unsqueeze(-1))
        return note, onset, contour


# --------------------------------------------------------------------------
# Checks and output
# --------------------------------------------------------------------------

def test_audio(batch):
    """Deterministic windows of chords and noise: enough signal to exercise the
    log normalisation, different per batch item."""
    t = np.arange(WINDOW) / 22050.0
    rng = np.random.default_rng(1234)
    rows = []
    for i in range(batch):
        midi = np.array([48, 55, 60, 64, 67]) + 2 * i
        tone = sum(0.15 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12.0) * t) for m in midi)
        rows.append(tone + 0.01 * rng.standard_normal(WINDOW))
    return torch.from_numpy(np.stack(rows).astype(np.float32))


def max_diff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def check(eager, traced, reloaded):
    """The traced and reloaded modules agree with the eager interpreter at two
    batch sizes, outputs have the advertised shapes, and batch items are
    independent of each other."""
    with torch.no_grad():
        for batch in (1, 3):
            x = test_audio(batch)
            want = eager(x)
            for (name, _, width), y in zip(OUTPUTS, want):
                if tuple(y.shape) != (batch, FRAMES, width):
                    raise ConvertError("output %s has shape %s, expected %s"
                                       % (name, tuple(y.shape), (batch, FRAMES, width)))
            for label, module in (("traced", traced), ("reloaded", reloaded)):
                diff = max_diff(want, module(x))
                if diff > 1e-5:
                    raise ConvertError("%s module differs from the interpreter at batch %d "
                                       "by %g" % (label, batch, diff))
            print("  batch %d: traced and reloaded match the interpreter" % batch)
        x = test_audio(3)
        diff = max_diff([y[2:] for y in traced(x)], traced(x[2:]))
        if diff > 1e-5:
            raise ConvertError("batch item 2 alone differs from it in a batch of 3 by %g" % diff)


def _load_exporter():
    """The archive and checksum helpers of export-torchscript.py (a hyphenated
    file name, hence importlib)."""
    spec = importlib.util.spec_from_file_location(
        "export_torchscript", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "export-torchscript.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def convert(package_dir, out_dir):
    started = time.time()
    model, topology, weights = read_model(package_dir)
    inputs = model.get("signature", {}).get("inputs", {})
    if INPUT_NAME + ":0" not in [v.get("name") for v in inputs.values()]:
        raise ConvertError("model.json: signature has no input %s:0" % INPUT_NAME)

    graph = GraphModule(topology, weights, INPUT_NAME, [o[1] for o in OUTPUTS])
    module = BasicPitch(graph).eval()

    with torch.no_grad(), warnings.catch_warnings():
        # Static sizes read as ints (see static_size) warn; check() covers it.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, test_audio(1), check_trace=False)
        # Freezing inlines the weights as constants and folds what depends only on them:
        # about 15 % less time per window, the same outputs.
        traced = torch.jit.freeze(traced)
    os.makedirs(out_dir, exist_ok=True)
    # Written under temporary names and renamed once checked, so a failed conversion leaves
    # no model behind and a working one is never half replaced.
    pt_path = os.path.join(out_dir, "basic-pitch.pt")
    manifest_path = os.path.join(out_dir, "basic-pitch.toml")
    pt_temp, manifest_temp = pt_path + ".partial", manifest_path + ".partial"
    try:
        traced.save(pt_temp)
        exporter = _load_exporter()
        exporter.strip_debug_records(pt_temp)
        check(module, traced, torch.jit.load(pt_temp))
        digest = exporter.sha256_file(pt_temp)
        with open(manifest_temp, "w", encoding="utf-8") as f:
            f.write(MANIFEST.format(version=VERSION, sha256=digest, window=WINDOW, frames=FRAMES))
        os.replace(pt_temp, pt_path)
        os.replace(manifest_temp, manifest_path)
    finally:
        for temp in (pt_temp, manifest_temp):
            if os.path.exists(temp):
                os.remove(temp)

    counts = graph.op_counts()
    params = sum(b.numel() for b in graph.buffers())
    print("graph: %d nodes (%d ops besides constants): %s" % (
        len(graph.order), len(graph.order) - counts.get("Const", 0),
        ", ".join("%s %d" % kv for kv in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))))
    print("parameters: %d float constants, %d values" % (len(graph.buffer_of), params))
    print("wrote %s (%d bytes, sha256 %s) and basic-pitch.toml in %.1f s"
          % (pt_path, os.path.getsize(pt_path), digest, time.time() - started))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", required=True,
                        help="the @spotify/basic-pitch package folder (has model/model.json)")
    parser.add_argument("--out", required=True, help="folder for basic-pitch.pt and .toml")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the same reductions on every machine
    try:
        convert(args.package, args.out)
    except ConvertError as e:
        print("convert-basic-pitch: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
