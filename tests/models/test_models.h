// The tiny models of scripts/make-test-models.py, made once per test program.
#pragma once

#include <filesystem>
#include <fstream>
#include <vector>

#include "test_support.h"

namespace timbre::models {

inline const std::filesystem::path& TestModels() {
  static testing::TempDir* dir = [] {
    auto* d = new testing::TempDir();  // lives until exit, like the models in it
    testing::MakeTestModels(d->path());
    return d;
  }();
  return dir->path();
}

inline std::vector<float> ReadFloats(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  std::vector<float> v(static_cast<size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()),
          static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

}  // namespace timbre::models
