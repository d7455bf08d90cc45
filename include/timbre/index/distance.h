// Distances for exact search and for the HNSW graph's storage. Debian's FAISS is built for
// the baseline x86-64 instruction set, where its fvec_L2sqr runs at a fraction of what the
// vector units allow; these kernels are written for AVX-512 and AVX2 and chosen once, at
// first use, from what the processor supports. The baseline loop stays for other machines.
#pragma once

#include <cstddef>
#include <cstdint>

namespace timbre::index {

enum class DistanceIsa { kScalar, kAvx2, kAvx512 };

// The widest kernel set this processor runs.
DistanceIsa BestDistanceIsa();

float SquaredL2(const float* a, const float* b, size_t dim);
float InnerProduct(const float* a, const float* b, size_t dim);

// One kernel set by name, so that tests can hold each against the others; `isa` must be
// one the processor runs (BestDistanceIsa() or narrower).
float SquaredL2With(DistanceIsa isa, const float* a, const float* b, size_t dim);
float InnerProductWith(DistanceIsa isa, const float* a, const float* b, size_t dim);

// Unsigned byte codes against signed byte weights, summed exactly in 32 bits (the graph
// walk's approximate distances, walk_codes.h); `bytes` is a multiple of 64. The AVX-512
// kernel needs VNNI and falls back to AVX2 without it. Every kernel gives the same integer.
int32_t CodeDot(const uint8_t* codes, const int8_t* weights, size_t bytes);
int32_t CodeDotWith(DistanceIsa isa, const uint8_t* codes, const int8_t* weights, size_t bytes);
// CodeDot of several rows of one table at once: out[i] is the dot of the row at
// base + rows[i] * stride. With VNNI and one-line rows, 16 rows share one reduction.
void CodeDots(const uint8_t* base, size_t stride, const int32_t* rows, size_t count,
              const int8_t* weights, int32_t* out);
void CodeDotsWith(DistanceIsa isa, const uint8_t* base, size_t stride, const int32_t* rows,
                  size_t count, const int8_t* weights, int32_t* out);

}  // namespace timbre::index
