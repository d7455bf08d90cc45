// The TorchScript runtime, built as the plugin timbre-torch.so against Debian's libtorch.
// Loading libtorch costs about 0.45 s and 160 MB; as a plugin it is paid only by processes
// that run a model.
#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/version.h>

#include <mutex>
#include <sstream>

#include "timbre/models/runtime.h"

namespace timbre::models {
namespace {

class TorchModel : public LoadedModel {
 public:
  TorchModel(torch::jit::Module module, size_t file_bytes) : module_(std::move(module)) {
    for (const auto& p : module_.parameters()) bytes_ += p.numel() * p.element_size();
    for (const auto& b : module_.buffers()) bytes_ += b.numel() * b.element_size();
    // A frozen module keeps its weights as constants of its code, not as parameters: the
    // file's size is then the better measure.
    if (bytes_ == 0) bytes_ = file_bytes;
  }

  bool Forward(const float* input, const std::vector<int64_t>& shape, size_t tuple_index,
               Matrix* out, std::string* error) const override {
    try {
      c10::InferenceMode inference;
      // from_blob does not copy; the caller's buffer outlives the call.
      torch::Tensor x = torch::from_blob(const_cast<float*>(input), shape, torch::kFloat32);
      c10::IValue result = const_cast<torch::jit::Module&>(module_).forward({x});
      if (result.isTuple()) {
        const auto& elements = result.toTupleRef().elements();
        if (tuple_index >= elements.size()) {
          *error = "the model returned a tuple of " + std::to_string(elements.size()) +
                   " elements; output.tuple_index is " + std::to_string(tuple_index);
          return false;
        }
        result = elements[tuple_index];
      }
      if (!result.isTensor()) {
        *error = "the model returned " + result.tagKind() + ", not a tensor";
        return false;
      }
      torch::Tensor y = result.toTensor().to(torch::kFloat32).contiguous();
      if (y.dim() != 2 || y.size(0) != shape[0]) {
        std::string dims;
        for (int64_t d : y.sizes()) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
        *error = "the model returned a tensor of shape [" + dims + "]; expected [" +
                 std::to_string(shape[0]) + ", D]";
        return false;
      }
      out->rows = static_cast<size_t>(y.size(0));
      out->cols = static_cast<size_t>(y.size(1));
      out->values.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
      return true;
    } catch (const std::exception& e) {
      *error = e.what();
      // libtorch's messages carry a C++ backtrace after the first line.
      if (auto nl = error->find('\n'); nl != std::string::npos) error->resize(nl);
      return false;
    }
  }

  bool ForwardAll(const float* input, const std::vector<int64_t>& shape,
                  std::vector<Tensor>* outputs, std::string* error) const override {
    try {
      c10::InferenceMode inference;
      torch::Tensor x = torch::from_blob(const_cast<float*>(input), shape, torch::kFloat32);
      c10::IValue result = const_cast<torch::jit::Module&>(module_).forward({x});
      std::vector<c10::IValue> elements;
      if (result.isTuple()) {
        elements = result.toTupleRef().elements().vec();
      } else {
        elements.push_back(result);
      }
      outputs->clear();
      for (const auto& e : elements) {
        if (!e.isTensor()) {
          *error = "the model returned " + e.tagKind() + ", not a tensor";
          return false;
        }
        torch::Tensor y = e.toTensor().to(torch::kFloat32).contiguous();
        Tensor t;
        t.shape.assign(y.sizes().begin(), y.sizes().end());
        t.values.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
        outputs->push_back(std::move(t));
      }
      return true;
    } catch (const std::exception& e) {
      *error = e.what();
      if (auto nl = error->find('\n'); nl != std::string::npos) error->resize(nl);
      return false;
    }
  }

  size_t memory_bytes() const override { return bytes_; }

 private:
  torch::jit::Module module_;
  size_t bytes_ = 0;
};

class TorchRuntime : public Runtime {
 public:
  std::string name() const override { return "torchscript"; }
  std::string version() const override { return std::string("libtorch ") + TORCH_VERSION; }

  void SetThreads(int threads) override {
    std::lock_guard lock(mu_);
    if (threads > 0) at::set_num_threads(threads);
  }

  std::unique_ptr<LoadedModel> Load(const std::string& bytes, std::string* error) override {
    try {
      std::istringstream in(bytes);
      torch::jit::Module module = torch::jit::load(in, torch::kCPU);
      module.eval();
      return std::make_unique<TorchModel>(std::move(module), bytes.size());
    } catch (const std::exception& e) {
      *error = e.what();
      if (auto nl = error->find('\n'); nl != std::string::npos) error->resize(nl);
      return nullptr;
    }
  }

 private:
  std::mutex mu_;
};

}  // namespace
}  // namespace timbre::models

extern "C" __attribute__((visibility("default"))) timbre::models::Runtime* timbre_torch_runtime(
    int abi) {
  if (abi != timbre::models::kRuntimeAbi) return nullptr;
  static timbre::models::TorchRuntime runtime;
  return &runtime;
}
