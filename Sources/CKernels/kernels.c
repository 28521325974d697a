// Vectorised Float32 kernels. See include/CKernels.h for the contract of each function.
//
// The loops are written so that clang vectorises them (no early exits, selects instead of
// branches); `IK_CLONES` compiles each exported kernel for AVX-512, AVX2+FMA and baseline x86-64.
// Approximations (fitted by least squares; errors measured against double precision):
//   exp   range reduction to |r| ≤ ln2/2, degree-7 polynomial: relative error ≤ 2e-7 (≈ 2 ulp)
//   tanh  |x| < 0.625: odd degree-11 polynomial (rel. error ≤ 1e-7); else 1 − 2/(e^{2|x|} + 1)
//   erf   |x| < 1: odd degree-15 polynomial; 1 ≤ |x| < 4: 1 − e^{−x²}·P(1/(1+|x|/2)); else ±1.
//         Absolute error ≤ 2e-7.
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

IK_CLONES void ik_unary(int op, const float *x, float *y, size_t n) {
    switch (op) {
    case IK_EXP:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = ik_expf(x[i]);
        break;
    case IK_LOG:
        for (size_t i = 0; i < n; i++) y[i] = logf(x[i]);
        break;
    case IK_SQRT:
        for (size_t i = 0; i < n; i++) y[i] = sqrtf(x[i]);
        break;
    case IK_TANH:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = ik_tanhf(x[i]);
        break;
    case IK_SIGMOID:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = ik_sigmoidf(x[i]);
        break;
    case IK_RELU:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case IK_GELU_TANH:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + ik_tanhf(GELU_K * (v + GELU_C * v * v * v)));
        }
        break;
    case IK_GELU_ERF:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + ik_erff(v * INV_SQRT2));
        }
        break;
    case IK_SILU:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = x[i] * ik_sigmoidf(x[i]);
        break;
    case IK_NEG:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = -x[i];
        break;
    case IK_ABS:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = fabsf(x[i]);
        break;
    case IK_SQUARE:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = x[i] * x[i];
        break;
    case IK_RSQRT:
        for (size_t i = 0; i < n; i++) y[i] = 1.0f / sqrtf(x[i]);
        break;
    case IK_RECIPROCAL:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) y[i] = 1.0f / x[i];
        break;
    default:
        break;
    }
}

IK_CLONES void ik_unary_backward(int op, const float *x, const float *y, const float *dy, float *dx,
                                 size_t n) {
    switch (op) {
    case IK_EXP:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i];
        break;
    case IK_LOG:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] / x[i];
        break;
    case IK_SQRT:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * 0.5f / y[i];
        break;
    case IK_TANH:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case IK_SIGMOID:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case IK_RELU:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case IK_GELU_TANH:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            float t = ik_tanhf(GELU_K * (v + GELU_C * v * v * v));
            float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v * v);
            dx[i] = dy[i] * d;
        }
        break;
    case IK_GELU_ERF:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            float d = 0.5f * (1.0f + ik_erff(v * INV_SQRT2)) + v * INV_SQRT_2PI * ik_expf(-0.5f * v * v);
            dx[i] = dy[i] * d;
        }
        break;
    case IK_SILU:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) {
            float s = ik_sigmoidf(x[i]);
            dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
        }
        break;
    case IK_NEG:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = -dy[i];
        break;
    case IK_ABS:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : (x[i] < 0.0f ? -dy[i] : 0.0f);
        break;
    case IK_SQUARE:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = 2.0f * x[i] * dy[i];
        break;
    case IK_RSQRT:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = -0.5f * y[i] * y[i] * y[i] * dy[i];
        break;
    case IK_RECIPROCAL:
        IK_VECTOR
        for (size_t i = 0; i < n; i++) dx[i] = -y[i] * y[i] * dy[i];
        break;
    default:
        break;
    }
}

#define IK_BINARY_LOOP(EXPR)                                                                    \
    if (sa == 1 && sb == 1) {                                                                   \
        IK_VECTOR for (size_t i = 0; i < n; i++) { float u = a[i], v = b[i]; out[i] = (EXPR); } \
    } else if (sa == 1) {                                                                       \
        float v = b[0];                                                                         \
        IK_VECTOR for (size_t i = 0; i < n; i++) { float u = a[i]; out[i] = (EXPR); }           \
    } else if (sb == 1) {                                                                       \
        float u = a[0];                                                                         \
        IK_VECTOR for (size_t i = 0; i < n; i++) { float v = b[i]; out[i] = (EXPR); }           \
    } else {                                                                                    \
        float u = a[0], v = b[0];                                                               \
        float r = (EXPR);                                                                       \
        for (size_t i = 0; i < n; i++) out[i] = r;                                              \
    }

IK_CLONES void ik_binary(int op, const float *a, size_t sa, const float *b, size_t sb, float *out,
                         size_t n) {
    switch (op) {
    case IK_ADD: IK_BINARY_LOOP(u + v) break;
    case IK_SUB: IK_BINARY_LOOP(u - v) break;
    case IK_MUL: IK_BINARY_LOOP(u * v) break;
    case IK_DIV: IK_BINARY_LOOP(u / v) break;
    case IK_MAX: IK_BINARY_LOOP(u > v ? u : v) break;
    case IK_MIN: IK_BINARY_LOOP(u < v ? u : v) break;
    default: break;
    }
}

IK_CLONES void ik_affine(const float *x, float a, float b, float *y, size_t n) {
    IK_VECTOR
    for (size_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}

IK_CLONES void ik_accumulate(float *y, const float *x, size_t n) {
    IK_VECTOR
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

// Tree reductions of 16 partial results (4 dependent steps instead of 16).
IK_INLINE float ik_tree_sum16(float *acc) {
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

IK_INLINE float ik_tree_max16(float *acc) {
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] = acc[j + w] > acc[j] ? acc[j + w] : acc[j];
    return acc[0];
}

IK_INLINE float ik_sum_inline(const float *x, size_t n) {
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) acc[j] += x[i + j];
    for (size_t j = 0; i < n; i++, j++) acc[j] += x[i];
    return ik_tree_sum16(acc);
}

IK_CLONES float ik_sum(const float *x, size_t n) { return ik_sum_inline(x, n); }

IK_CLONES float ik_dot(const float *x, const float *y, size_t n) {
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) acc[j] += x[i + j] * y[i + j];
    for (size_t j = 0; i < n; i++, j++) acc[j] += x[i] * y[i];
    return ik_tree_sum16(acc);
}

IK_INLINE float ik_max_inline(const float *x, size_t n) {
    float acc[16];
    for (size_t j = 0; j < 16; j++) acc[j] = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    for (size_t j = 0; i < n; i++, j++) acc[j] = x[i] > acc[j] ? x[i] : acc[j];
    return ik_tree_max16(acc);
}

IK_CLONES float ik_max(const float *x, size_t n) { return ik_max_inline(x, n); }

IK_CLONES void ik_softmax_rows(const float *x, float *y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = ik_max_inline(xr, cols);
        if (m == -INFINITY) m = 0.0f;  // a fully masked row gives zeros, never NaN
        // Three simple passes, each vectorised: exponentials, their sum, the scaling.
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) yr[k] = ik_expf(xr[k] - m);
        float s = ik_sum_inline(yr, cols);
        float inv = s > 0.0f ? 1.0f / s : 0.0f;
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) yr[k] *= inv;
    }
}

IK_CLONES void ik_log_softmax_rows(const float *x, float *y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = ik_max_inline(xr, cols);
        if (m == -INFINITY) m = 0.0f;
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) yr[k] = ik_expf(xr[k] - m);  // y as scratch
        float shift = m + logf(ik_sum_inline(yr, cols));
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) yr[k] = xr[k] - shift;
    }
}

IK_CLONES void ik_softmax_backward_rows(const float *y, const float *dy, float *dx, size_t rows,
                                        size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        float s = ik_dot(yr, gr, cols);
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) dr[k] = yr[k] * (gr[k] - s);
    }
}

IK_CLONES void ik_log_softmax_backward_rows(const float *y, const float *dy, float *dx, size_t rows,
                                            size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        float s = ik_sum_inline(gr, cols);
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) dr[k] = gr[k] - ik_expf(yr[k]) * s;
    }
}

IK_CLONES void ik_layer_norm_rows(const float *x, const float *w, const float *b, float *y, float *mean,
                                  float *rstd, size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float mu = ik_sum_inline(xr, cols) / (float)cols;
        float acc[16] = {0};
        size_t i = 0;
        for (; i + 16 <= cols; i += 16)
            for (size_t j = 0; j < 16; j++) {
                float d = xr[i + j] - mu;
                acc[j] += d * d;
            }
        float v = 0.0f;
        for (; i < cols; i++) {
            float d = xr[i] - mu;
            v += d * d;
        }
        for (size_t j = 0; j < 16; j++) v += acc[j];
        float rs = 1.0f / sqrtf(v / (float)cols + eps);
        if (mean) mean[r] = mu;
        if (rstd) rstd[r] = rs;
        if (w && b) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) yr[k] = (xr[k] - mu) * rs * w[k] + b[k];
        } else if (w) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) yr[k] = (xr[k] - mu) * rs * w[k];
        } else {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) yr[k] = (xr[k] - mu) * rs;
        }
    }
}

IK_CLONES void ik_layer_norm_backward_rows(const float *x, const float *w, const float *mean,
                                           const float *rstd, const float *dy, float *dx, float *dw,
                                           float *db, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *gr = dy + r * cols;
        float mu = mean[r], rs = rstd[r];
        if (dw) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) dw[k] += gr[k] * (xr[k] - mu) * rs;
        }
        if (db) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) db[k] += gr[k];
        }
        if (!dx) continue;
        float *dr = dx + r * cols;
        // g = dy·w; dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))
        float sg = 0.0f, sgx = 0.0f;
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) {
            float g = w ? gr[k] * w[k] : gr[k];
            float xh = (xr[k] - mu) * rs;
            sg += g;
            sgx += g * xh;
        }
        sg /= (float)cols;
        sgx /= (float)cols;
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) {
            float g = w ? gr[k] * w[k] : gr[k];
            float xh = (xr[k] - mu) * rs;
            dr[k] = rs * (g - sg - xh * sgx);
        }
    }
}

IK_CLONES void ik_rms_norm_rows(const float *x, const float *w, float *y, float *rstd, size_t rows,
                                size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float ms = ik_dot(xr, xr, cols) / (float)cols;
        float rs = 1.0f / sqrtf(ms + eps);
        if (rstd) rstd[r] = rs;
        if (w) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) yr[k] = w[k] * (xr[k] * rs);
        } else {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) yr[k] = xr[k] * rs;
        }
    }
}

IK_CLONES void ik_rms_norm_backward_rows(const float *x, const float *w, const float *rstd,
                                         const float *dy, float *dx, float *dw, size_t rows,
                                         size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *gr = dy + r * cols;
        float rs = rstd[r];
        if (dw) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) dw[k] += gr[k] * xr[k] * rs;
        }
        if (!dx) continue;
        float *dr = dx + r * cols;
        // g = dy·w; dx = rstd · (g − x · rstd² · mean(g ⊙ x))
        float sgx = 0.0f;
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) sgx += (w ? gr[k] * w[k] : gr[k]) * xr[k];
        float c = sgx / (float)cols * rs * rs;
        IK_VECTOR
        for (size_t k = 0; k < cols; k++) {
            float g = w ? gr[k] * w[k] : gr[k];
            dr[k] = rs * (g - xr[k] * c);
        }
    }
}

IK_CLONES void ik_f16_to_f32(const uint16_t *x, float *y, size_t n) {
    IK_VECTOR
    for (size_t i = 0; i < n; i++) {
        uint32_t h = x[i];
        uint32_t sign = (h & 0x8000u) << 16;
        uint32_t exp = (h >> 10) & 0x1fu;
        uint32_t mant = h & 0x3ffu;
        uint32_t normal = sign | ((exp + 112u) << 23) | (mant << 13);
        uint32_t special = sign | 0x7f800000u | (mant << 13);
        float sub = (float)mant * 5.9604644775390625e-08f;
        uint32_t subnormal = sign | ik_float_to_bits(sub);
        uint32_t bits = exp == 0 ? subnormal : (exp == 0x1fu ? special : normal);
        y[i] = ik_bits_to_float(bits);
    }
}

IK_CLONES void ik_bf16_to_f32(const uint16_t *x, float *y, size_t n) {
    IK_VECTOR
    for (size_t i = 0; i < n; i++) y[i] = ik_bits_to_float((uint32_t)x[i] << 16);
}

void ik_f32_to_f16(const float *x, uint16_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t f = ik_float_to_bits(x[i]);
        uint32_t sign = (f >> 16) & 0x8000u;
        uint32_t absf = f & 0x7fffffffu;
        uint16_t h;
        if (absf >= 0x7f800000u) {  // inf or nan
            h = (uint16_t)(sign | 0x7c00u | (absf > 0x7f800000u ? 0x200u : 0u));
        } else if (absf >= 0x477ff000u) {  // overflows half: rounds to inf
            h = (uint16_t)(sign | 0x7c00u);
        } else if (absf < 0x38800000u) {  // half subnormal or zero
            float v = ik_bits_to_float(absf) * 16777216.0f;  // scale by 2^24
            uint32_t m = (uint32_t)lrintf(v);
            h = (uint16_t)(sign | m);
        } else {
            uint32_t mant = absf & 0x7fffffu;
            uint32_t exp = (absf >> 23) - 112u;
            uint32_t hm = mant >> 13;
            uint32_t rest = mant & 0x1fffu;
            uint32_t out = (exp << 10) | hm;
            if (rest > 0x1000u || (rest == 0x1000u && (hm & 1u))) out += 1;
            h = (uint16_t)(sign | out);
        }
        y[i] = h;
    }
}
