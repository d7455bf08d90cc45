// Distances for exact search. Debian's FAISS is built for the baseline x86-64 instruction
// set and its scalar fvec_L2sqr runs at a quarter of what AVX2 allows; these loops keep 16
// independent partial sums so the compiler vectorises them, and are compiled for AVX2 and
// the baseline, chosen at load time.
#pragma once

#include <cstddef>

namespace timbre::index {

float SquaredL2(const float* a, const float* b, size_t dim);
float InnerProduct(const float* a, const float* b, size_t dim);

}  // namespace timbre::index
