// The neural runtime interface. A runtime loads model files and runs forward passes on float
// tensors; TorchScript (libtorch) is the one built today, loaded as a plugin so that commands
// that run no model never pay for loading libtorch.
//
// The interface holds only standard types: it is the boundary of a shared object built
// separately (src/models/torch), so it carries errors as strings, not as core's Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace timbre::models {

// A row-major matrix: one row per patch.
struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;
  const float* row(size_t r) const { return values.data() + r * cols; }
};

// A row-major tensor of any rank.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  // Runs the model on `input` (row-major, of `shape`); the output (or element `tuple_index`
  // of a tuple output) must be [shape[0], D]. Thread-safe: scan threads share one model.
  virtual bool Forward(const float* input, const std::vector<int64_t>& shape, size_t tuple_index,
                       Matrix* out, std::string* error) const = 0;
  // Runs the model and returns every output: the elements of a tuple, or the one tensor.
  virtual bool ForwardAll(const float* input, const std::vector<int64_t>& shape,
                          std::vector<Tensor>* outputs, std::string* error) const = 0;
  // Bytes of parameters and buffers (of the file, for a frozen module whose weights are
  // constants): what the model costs in the cache's budget.
  virtual size_t memory_bytes() const = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual std::string name() const = 0;     // "torchscript"
  virtual std::string version() const = 0;  // "libtorch 1.13.1"
  // Intra-op threads of each forward pass (process-wide).
  virtual void SetThreads(int threads) = 0;
  // Loads a model from its file's bytes: the bytes whose sha256 was checked are the bytes
  // loaded, whatever happens to the file meanwhile.
  virtual std::unique_ptr<LoadedModel> Load(const std::string& bytes, std::string* error) = 0;
};

// What a runtime plugin exports, under this C name, to hand out its (process-lifetime)
// runtime. `abi` is kRuntimeAbi of the caller; a plugin built against another returns null.
inline constexpr int kRuntimeAbi = 2;
using RuntimeFactory = Runtime* (*)(int abi);
inline constexpr const char* kTorchFactorySymbol = "timbre_torch_runtime";

}  // namespace timbre::models
