// Vectorised Float32 kernels. See include/CKernels.h for the contract of each function.
//
// The loops are written so that clang vectorises them (no early exits, selects instead of
// branches); `IK_CLONES` compiles each exported kernel for AVX-512, AVX2+FMA and baseline x86-64.
// Approximations (fitted by least squares; errors measured against double precision):
//   exp   range reduction to |r| ≤ ln2/2, degree-7 polynomial: relative error ≤ 2e-7 (≈ 2 ulp)
//   tanh  |x| < 0.625: odd degree-11 polynomial (rel. error ≤ 1e-7); else 1 − 2/(e^{2|x|} + 1)
//   erf   |x| < 1: odd degree-15 polynomial; 1 ≤ |x| < 4: 1 − e^{−x²}·P(1/(1+|x|/2)); else ±1.
//         Absolute error ≤ 2e-7.
#include "kernel_math.h"

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

