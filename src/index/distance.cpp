#include "timbre/index/distance.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace timbre::index {
namespace {

using Kernel = float (*)(const float*, const float*, size_t);
using CodeKernel = int32_t (*)(const uint8_t*, const int8_t*, size_t);
using CodeRowsKernel = void (*)(const uint8_t*, size_t, const int32_t*, size_t, const int8_t*,
                                int32_t*);

// Row after row, for kernel sets without a batch of their own.
template <CodeKernel Dot>
void CodeRows(const uint8_t* base, size_t stride, const int32_t* rows, size_t count,
              const int8_t* weights, int32_t* out) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = Dot(base + static_cast<size_t>(rows[i]) * stride, weights, stride);
  }
}

// Each kernel set is written once for both measures: kL2 adds squared differences, otherwise
// products.
enum Measure : bool { kProduct = false, kL2 = true };

// Four partial sums: the baseline build cannot vectorise a single running sum.
template <Measure M>
float Scalar(const float* a, const float* b, size_t dim) {
  auto term = [](float x, float y) { return M == kL2 ? (x - y) * (x - y) : x * y; };
  float acc[4] = {};
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    for (size_t k = 0; k < 4; ++k) acc[k] += term(a[i + k], b[i + k]);
  }
  for (; i < dim; ++i) acc[0] += term(a[i], b[i]);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

int32_t ScalarCodes(const uint8_t* codes, const int8_t* weights, size_t bytes) {
  int32_t sum = 0;
  for (size_t i = 0; i < bytes; ++i) sum += int32_t{codes[i]} * int32_t{weights[i]};
  return sum;
}

#if defined(__x86_64__)

template <Measure M>
__attribute__((target("avx512f"))) inline __m512 Step16(__m512 acc, __m512 x, __m512 y) {
  if constexpr (M == kL2) {
    const __m512 t = _mm512_sub_ps(x, y);
    return _mm512_fmadd_ps(t, t, acc);
  } else {
    return _mm512_fmadd_ps(x, y, acc);
  }
}

// GCC 12's _mm512_reduce_add_ps and unpack intrinsics pass an undefined vector as the merge
// source of a fully selected operation, which -W(maybe-)uninitialized reports although no
// lane of it is read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// AVX-512: a masked load takes the tail, so 46 dimensions are three vector steps.
template <Measure M>
__attribute__((target("avx512f"))) float Avx512(const float* a, const float* b, size_t dim) {
  __m512 acc = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    acc = Step16<M>(acc, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
  }
  if (i < dim) {
    const __mmask16 m = static_cast<__mmask16>((1u << (dim - i)) - 1);
    acc = Step16<M>(acc, _mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
  }
  return _mm512_reduce_add_ps(acc);
}

// VNNI multiplies 64 byte pairs and adds them into 16 sums in one instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t Avx512Codes(const uint8_t* codes,
                                                                           const int8_t* weights,
                                                                           size_t bytes) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < bytes; i += 64) {
    acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(codes + i), _mm512_loadu_si512(weights + i));
  }
  return _mm512_reduce_add_epi32(acc);
}

#define TIMBRE_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// One one-line row's products, 16 partial sums.
TIMBRE_VNNI inline __m512i RowProducts(const uint8_t* base, int32_t row, __m512i weights) {
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                             _mm512_loadu_si512(base + static_cast<size_t>(row) * 64), weights);
}

// Two vectors interleaved by 32 or 64 bits and added.
TIMBRE_VNNI inline __m512i Interleave32(__m512i a, __m512i b) {
  return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
}
TIMBRE_VNNI inline __m512i Interleave64(__m512i a, __m512i b) {
  return _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
}
// The 128-bit blocks of a, then of b, each pair of neighbours added.
TIMBRE_VNNI inline __m512i FoldBlocks(__m512i a, __m512i b) {
  return _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

// Sixteen one-line rows: one VNNI product each, then their sixteen sums reduced together
// (interleaved and added by 32 and 64 bits, then by blocks twice), where reducing each
// alone takes twice the instructions.
TIMBRE_VNNI void Avx512CodeRows(const uint8_t* base, size_t stride, const int32_t* rows,
                                size_t count, const int8_t* weights, int32_t* out) {
  if (stride != 64) return CodeRows<Avx512Codes>(base, stride, rows, count, weights, out);
  const __m512i w = _mm512_loadu_si512(weights);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    __m512i quarter[8];
    for (size_t j = 0; j < 8; ++j) {
      quarter[j] = Interleave32(RowProducts(base, rows[i + 2 * j], w),
                                RowProducts(base, rows[i + 2 * j + 1], w));
    }
    __m512i half[4];  // four rows' sums in each 128-bit block
    for (size_t j = 0; j < 4; ++j) half[j] = Interleave64(quarter[2 * j], quarter[2 * j + 1]);
    const __m512i sums = FoldBlocks(FoldBlocks(half[0], half[1]), FoldBlocks(half[2], half[3]));
    _mm512_storeu_si512(out + i, sums);
  }
  for (; i < count; ++i) out[i] = _mm512_reduce_add_epi32(RowProducts(base, rows[i], w));
}

#undef TIMBRE_VNNI

#pragma GCC diagnostic pop

template <Measure M>
__attribute__((target("avx2,fma"))) inline __m256 Step8(__m256 acc, __m256 x, __m256 y) {
  if constexpr (M == kL2) {
    const __m256 t = _mm256_sub_ps(x, y);
    return _mm256_fmadd_ps(t, t, acc);
  } else {
    return _mm256_fmadd_ps(x, y, acc);
  }
}

__attribute__((target("avx2,fma"))) float Sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The lanes a masked load reads for the last dim % 8 values (the rest stay zero).
__attribute__((target("avx2,fma"))) __m256i TailMask(size_t n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes);
}

// AVX2: two sums, so that consecutive steps do not wait on each other.
template <Measure M>
__attribute__((target("avx2,fma"))) float Avx2(const float* a, const float* b, size_t dim) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    acc0 = Step8<M>(acc0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc1 = Step8<M>(acc1, _mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
  }
  for (; i + 8 <= dim; i += 8) {
    acc0 = Step8<M>(acc0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
  }
  if (i < dim) {
    const __m256i m = TailMask(dim - i);
    acc1 = Step8<M>(acc1, _mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
  }
  return Sum8(_mm256_add_ps(acc0, acc1));
}

// AVX2: bytes widened to 16 bits, then pairs of products summed into 32 bits (exact: a
// pair is at most 2 x 255 x 128).
__attribute__((target("avx2"))) int32_t Avx2Codes(const uint8_t* codes, const int8_t* weights,
                                                  size_t bytes) {
  __m256i acc = _mm256_setzero_si256();
  for (size_t i = 0; i < bytes; i += 16) {
    const __m256i c =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + i)));
    const __m256i w =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(weights + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(c, w));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

bool HasVnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
}

#endif

struct CodeKernels {
  CodeKernel dot;
  CodeRowsKernel rows;
};

CodeKernels CodeKernelsFor(DistanceIsa isa) {
#if defined(__x86_64__)
  if (isa == DistanceIsa::kAvx512 && HasVnni()) return {&Avx512Codes, &Avx512CodeRows};
  if (isa == DistanceIsa::kAvx512 || isa == DistanceIsa::kAvx2) {
    return {&Avx2Codes, &CodeRows<Avx2Codes>};
  }
#endif
  (void)isa;
  return {&ScalarCodes, &CodeRows<ScalarCodes>};
}

struct Kernels {
  Kernel squared_l2;
  Kernel inner_product;
  CodeKernel code_dot;
  CodeRowsKernel code_rows;
};

Kernels KernelsFor(DistanceIsa isa) {
  const CodeKernels codes = CodeKernelsFor(isa);
#if defined(__x86_64__)
  if (isa == DistanceIsa::kAvx512) return {&Avx512<kL2>, &Avx512<kProduct>, codes.dot, codes.rows};
  if (isa == DistanceIsa::kAvx2) return {&Avx2<kL2>, &Avx2<kProduct>, codes.dot, codes.rows};
#endif
  return {&Scalar<kL2>, &Scalar<kProduct>, codes.dot, codes.rows};
}

const Kernels& Chosen() {
  static const Kernels kernels = KernelsFor(BestDistanceIsa());
  return kernels;
}

}  // namespace

DistanceIsa BestDistanceIsa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return DistanceIsa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return DistanceIsa::kAvx2;
#endif
  return DistanceIsa::kScalar;
}

float SquaredL2(const float* a, const float* b, size_t dim) {
  return Chosen().squared_l2(a, b, dim);
}

float InnerProduct(const float* a, const float* b, size_t dim) {
  return Chosen().inner_product(a, b, dim);
}

float SquaredL2With(DistanceIsa isa, const float* a, const float* b, size_t dim) {
  return KernelsFor(isa).squared_l2(a, b, dim);
}

float InnerProductWith(DistanceIsa isa, const float* a, const float* b, size_t dim) {
  return KernelsFor(isa).inner_product(a, b, dim);
}

int32_t CodeDot(const uint8_t* codes, const int8_t* weights, size_t bytes) {
  return Chosen().code_dot(codes, weights, bytes);
}

int32_t CodeDotWith(DistanceIsa isa, const uint8_t* codes, const int8_t* weights, size_t bytes) {
  return KernelsFor(isa).code_dot(codes, weights, bytes);
}

void CodeDots(const uint8_t* base, size_t stride, const int32_t* rows, size_t count,
              const int8_t* weights, int32_t* out) {
  Chosen().code_rows(base, stride, rows, count, weights, out);
}

void CodeDotsWith(DistanceIsa isa, const uint8_t* base, size_t stride, const int32_t* rows,
                  size_t count, const int8_t* weights, int32_t* out) {
  KernelsFor(isa).code_rows(base, stride, rows, count, weights, out);
}

}  // namespace timbre::index
