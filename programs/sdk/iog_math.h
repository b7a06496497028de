/*
 * iog_math.h -- checked u64 arithmetic and mul_div over a 128-bit intermediate made of 64-bit halves.
 *
 * The BPF backend has no 128-bit multiply/divide (__multi3/__udivti3) and no signed division, so nothing here
 * uses __int128. Pinned against Python big-int by tests/programs/toolchain/test_math.py.
 */
#ifndef IOG_MATH_H
#define IOG_MATH_H

#include "iog_types.h"

/* *out = a + b. Returns true on overflow (like __builtin_add_overflow); *out is then the wrapped value. */
static inline bool iog_add_overflow(uint64_t a, uint64_t b, uint64_t *out) {
  *out = a + b;
  return *out < a;
}

/* *out = a - b. Returns true on underflow (b > a); *out is then the wrapped value. */
static inline bool iog_sub_overflow(uint64_t a, uint64_t b, uint64_t *out) {
  *out = a - b;
  return b > a;
}

/* *out = a * b. Returns true on overflow; *out is then the wrapped value. (Written with iog_mul_wide: the plain
 * `b > MAX / a` test is turned by LLVM into umul.with.overflow, i.e. __multi3, which the BPF backend refuses.) */
static inline bool iog_mul_overflow(uint64_t a, uint64_t b, uint64_t *out);

/* Full 64x64 -> 128-bit product, as high and low 64-bit halves (built from 32-bit limbs). */
static inline void iog_mul_wide(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
  uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32;
  uint64_t b_lo = b & 0xffffffffULL, b_hi = b >> 32;
  uint64_t p0 = a_lo * b_lo;
  uint64_t p1 = a_lo * b_hi;
  uint64_t p2 = a_hi * b_lo;
  uint64_t p3 = a_hi * b_hi;
  /* middle column: at most 3 * (2^32 - 1), fits in u64 */
  uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffULL) + (p2 & 0xffffffffULL);
  *lo = (mid << 32) | (p0 & 0xffffffffULL);
  *hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

static inline bool iog_mul_overflow(uint64_t a, uint64_t b, uint64_t *out) {
  uint64_t hi;
  iog_mul_wide(a, b, &hi, out);
  return hi != 0;
}

/* Number of leading zero bits of x (x != 0), by binary search: BPF has no clz instruction. */
static inline uint64_t iog_clz64(uint64_t x) {
  uint64_t n = 0;
  if (!(x >> 32)) { n += 32; x <<= 32; }
  if (!(x >> 48)) { n += 16; x <<= 16; }
  if (!(x >> 56)) { n += 8; x <<= 8; }
  if (!(x >> 60)) { n += 4; x <<= 4; }
  if (!(x >> 62)) { n += 2; x <<= 2; }
  if (!(x >> 63)) { n += 1; }
  return n;
}

/*
 * floor((hi * 2^64 + lo) / v) for hi < v (so the quotient fits in u64): Knuth's algorithm D with two 32-bit
 * quotient digits (Hacker's Delight, divlu), in 64-bit arithmetic only.
 */
static inline uint64_t iog_div_128_by_64(uint64_t hi, uint64_t lo, uint64_t v) {
  const uint64_t b = 1ULL << 32;
  uint64_t s = iog_clz64(v);
  v <<= s; /* normalize: top bit of v set */
  uint64_t vn1 = v >> 32, vn0 = v & 0xffffffffULL;
  uint64_t un32 = (hi << s) | (s ? lo >> (64 - s) : 0);
  uint64_t un10 = lo << s;
  uint64_t un1 = un10 >> 32, un0 = un10 & 0xffffffffULL;
  uint64_t q1 = un32 / vn1, rhat = un32 - q1 * vn1;
  while (q1 >= b || q1 * vn0 > b * rhat + un1) { /* at most twice */
    q1 -= 1;
    rhat += vn1;
    if (rhat >= b) break;
  }
  uint64_t un21 = un32 * b + un1 - q1 * v; /* exact modulo 2^64: the true value is below v */
  uint64_t q0 = un21 / vn1;
  rhat = un21 - q0 * vn1;
  while (q0 >= b || q0 * vn0 > b * rhat + un0) {
    q0 -= 1;
    rhat += vn1;
    if (rhat >= b) break;
  }
  return q1 * b + q0;
}

/*
 * *out = floor(a * b / c), exact over a 128-bit intermediate.
 * Returns IOG_SUCCESS, IOG_ERR_INVALID_ARGUMENT when c == 0, or IOG_ERR_ARITHMETIC_OVERFLOW when the quotient does
 * not fit in u64 (*out is left unchanged on error). Cost (tests/programs/toolchain/bench_sdk.py, including the
 * probe's own loads and stores): about 180 CU when a * b fits in u64, about 290 CU on the 128-bit path.
 */
static inline uint64_t iog_mul_div(uint64_t a, uint64_t b, uint64_t c, uint64_t *out) {
  if (c == 0) return IOG_ERR_INVALID_ARGUMENT;
  uint64_t hi, lo;
  iog_mul_wide(a, b, &hi, &lo);
  if (hi == 0) {
    *out = lo / c;
    return IOG_SUCCESS;
  }
  if (hi >= c) return IOG_ERR_ARITHMETIC_OVERFLOW; /* quotient >= 2^64 */
  *out = iog_div_128_by_64(hi, lo, c);
  return IOG_SUCCESS;
}

/* Like iog_mul_div, rounding up: ceil(a * b / c). Same errors. */
static inline uint64_t iog_mul_div_ceil(uint64_t a, uint64_t b, uint64_t c, uint64_t *out) {
  uint64_t q;
  uint64_t err = iog_mul_div(a, b, c, &q);
  if (err) return err;
  uint64_t hi, lo;
  iog_mul_wide(q, c, &hi, &lo);
  uint64_t phi, plo;
  iog_mul_wide(a, b, &phi, &plo);
  if (hi != phi || lo != plo) {
    if (q == IOG_U64_MAX) return IOG_ERR_ARITHMETIC_OVERFLOW;
    q += 1;
  }
  *out = q;
  return IOG_SUCCESS;
}

/* Unsigned minimum and maximum. */
static inline uint64_t iog_min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t iog_max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

#endif /* IOG_MATH_H */
