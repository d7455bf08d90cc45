#include "distance.h"

namespace timbre::index {

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define TIMBRE_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TIMBRE_SIMD_CLONES
#endif

namespace {

// Pairwise sum of 16 lanes: four vector adds instead of sixteen dependent ones.
inline float Reduce(float (&acc)[16]) {
  for (size_t width = 8; width > 0; width /= 2) {
    for (size_t k = 0; k < width; ++k) acc[k] += acc[k + width];
  }
  return acc[0];
}

}  // namespace

TIMBRE_SIMD_CLONES float SquaredL2(const float* a, const float* b, size_t dim) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    for (size_t k = 0; k < 16; ++k) {
      const float t = a[i + k] - b[i + k];
      acc[k] += t * t;
    }
  }
  // The tail and the final sum stay in the 16 lanes: a serial sum over them cost more than
  // the vector part for short vectors (timbre-v1 has 46 dimensions).
  for (size_t k = 0; i + k < dim; ++k) {
    const float t = a[i + k] - b[i + k];
    acc[k] += t * t;
  }
  return Reduce(acc);
}

TIMBRE_SIMD_CLONES float InnerProduct(const float* a, const float* b, size_t dim) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    for (size_t k = 0; k < 16; ++k) acc[k] += a[i + k] * b[i + k];
  }
  for (size_t k = 0; i + k < dim; ++k) acc[k] += a[i + k] * b[i + k];
  return Reduce(acc);
}

}  // namespace timbre::index
