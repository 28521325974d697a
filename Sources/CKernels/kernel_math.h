// Private helpers shared by the kernel files: per-CPU cloning, vectorisation hints, and the
// polynomial approximations of exp, tanh and erf (errors stated in elementwise.c).
#ifndef INTERVENE_KERNEL_MATH_H
#define INTERVENE_KERNEL_MATH_H
#include "CKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define IK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define IK_CLONES
#endif

#define IK_INLINE static inline __attribute__((always_inline))

// Elementwise loops read and write the same index only, so they are safe to vectorise even when
// input and output alias (in-place operations); this tells clang so, instead of a runtime
// overlap check that would fall back to scalar code for in-place calls.
#if defined(__clang__)
#define IK_VECTOR _Pragma("clang loop vectorize(assume_safety)")
#else
#define IK_VECTOR
#endif

IK_INLINE float ik_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

IK_INLINE uint32_t ik_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

// IEEE half (binary16) bits to Float32, exactly (subnormals, infinities and NaNs included).
IK_INLINE float ik_half_to_float(uint16_t half) {
    uint32_t h = half;
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t normal = sign | ((exp + 112u) << 23) | (mant << 13);
    uint32_t special = sign | 0x7f800000u | (mant << 13);
    float sub = (float)mant * 5.9604644775390625e-08f;
    uint32_t subnormal = sign | ik_float_to_bits(sub);
    uint32_t bits = exp == 0 ? subnormal : (exp == 0x1fu ? special : normal);
    return ik_bits_to_float(bits);
}

// e^x for finite x; inputs below −87.3 return 0 exactly (so masked softmax entries are exact zeros).
IK_INLINE float ik_expf(float x) {
    float xc = fminf(fmaxf(x, -87.3f), 88.3f);
    // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick (vectorises without SSE4.1).
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187e-06f;
    float p = 1.990562531e-04f;
    p = p * r + 1.394260896e-03f;
    p = p * r + 8.333286926e-03f;
    p = p * r + 4.166631899e-02f;
    p = p * r + 1.666666677e-01f;
    p = p * r + 5.000000063e-01f;
    p = p * r * r + r + 1.0f;
    int32_t e = (int32_t)n;
    float scale = ik_bits_to_float((uint32_t)(e + 127) << 23);
    float y = p * scale;
    return x < -87.3f ? 0.0f : y;
}

IK_INLINE float ik_tanhf(float x) {
    float ax = fabsf(x);
    float e = ik_expf(fminf(2.0f * ax, 88.0f));
    float big = 1.0f - 2.0f / (e + 1.0f);
    float x2 = ax * ax;
    float q = -5.662177931e-03f;
    q = q * x2 + 2.058808675e-02f;
    q = q * x2 - 5.371865162e-02f;
    q = q * x2 + 1.333109073e-01f;
    q = q * x2 - 3.333326257e-01f;
    float small = ax + ax * x2 * q;
    float r = ax < 0.625f ? small : big;
    return copysignf(r, x);
}

IK_INLINE float ik_erff(float x) {
    float ax = fabsf(x);
    float x2 = ax * ax;
    float p = -9.540748443e-06f;
    p = p * x2 + 1.121589121e-04f;
    p = p * x2 - 8.476151227e-04f;
    p = p * x2 + 5.220392963e-03f;
    p = p * x2 - 2.686515528e-02f;
    p = p * x2 + 1.128377640e-01f;
    p = p * x2 - 3.761263787e-01f;
    p = p * x2 + 1.128379167e+00f;
    float small = ax * p;
    float t = 1.0f / (1.0f + 0.5f * ax);
    float q = 1.201526011e-01f;
    q = q * t - 4.741258959e-01f;
    q = q * t + 5.677753550e-01f;
    q = q * t - 1.074178429e-01f;
    q = q * t + 3.497059325e-01f;
    q = q * t + 2.591243835e-01f;
    q = q * t + 2.850039018e-01f;
    q = q * t - 1.604517900e-04f;
    float mid = 1.0f - ik_expf(-x2) * q;
    float r = ax < 1.0f ? small : (ax < 4.0f ? mid : 1.0f);
    return copysignf(r, x);
}

IK_INLINE float ik_sigmoidf(float x) { return 1.0f / (1.0f + ik_expf(-x)); }

#define GELU_K 0.7978845608028654f   /* sqrt(2/pi) */
#define GELU_C 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f


#endif
