#include "distance.h"

namespace timbre::index {

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define TIMBRE_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TIMBRE_SIMD_CLONES
#endif

TIMBRE_SIMD_CLONES float SquaredL2(const float* a, const float* b, size_t dim) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    for (size_t k = 0; k < 16; ++k) {
      const float t = a[i + k] - b[i + k];
      acc[k] += t * t;
    }
  }
  float sum = 0.0f;
  for (; i < dim; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  for (float v : acc) sum += v;
  return sum;
}

TIMBRE_SIMD_CLONES float InnerProduct(const float* a, const float* b, size_t dim) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    for (size_t k = 0; k < 16; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float sum = 0.0f;
  for (; i < dim; ++i) sum += a[i] * b[i];
  for (float v : acc) sum += v;
  return sum;
}

}  // namespace timbre::index
