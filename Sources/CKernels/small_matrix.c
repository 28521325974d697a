// Matrix kernels for small problems, where a BLAS/LAPACK call costs more in dispatch, thread
// hand-off and layout conversion than in arithmetic (DAS rotations of 16 × 16, tiny MLPs).
#include "kernel_math.h"
#include <stdlib.h>

IK_CLONES void ik_gemm_small(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                             const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    // A transposed B is copied to k × n first so the inner loop runs over contiguous columns.
    float stackBuffer[4096];
    float *bt = NULL;
    if (transB) {
        bt = k * n <= 4096 ? stackBuffer : (float *)malloc(k * n * sizeof(float));
        for (size_t j = 0; j < n; j++)
            for (size_t p = 0; p < k; p++) bt[p * n + j] = b[j * ldb + p];
        b = bt;
        ldb = n;
    }
    // Each row of C is accumulated in a local buffer (kept in registers for narrow n) and
    // written once.
    float row[1024];
    for (size_t j0 = 0; j0 < n; j0 += 1024) {
        size_t width = n - j0 < 1024 ? n - j0 : 1024;
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < width; j++) row[j] = 0.0f;
            for (size_t p = 0; p < k; p++) {
                float aip = transA ? a[p * lda + i] : a[i * lda + p];
                const float *bp = b + p * ldb + j0;
                for (size_t j = 0; j < width; j++) row[j] += aip * bp[j];
            }
            float *ci = c + i * ldc + j0;
            if (beta == 0.0f) {
                for (size_t j = 0; j < width; j++) ci[j] = alpha * row[j];
            } else {
                for (size_t j = 0; j < width; j++) ci[j] = alpha * row[j] + beta * ci[j];
            }
        }
    }
    if (bt && bt != stackBuffer) free(bt);
}

int ik_solve_small(size_t n, size_t k, float *a, float *b) {
    // Gaussian elimination with partial pivoting on row-major A (n × n) and B (n × k), in double
    // for the pivots' sake; A and B are overwritten (B with the solution).
    for (size_t col = 0; col < n; col++) {
        size_t pivot = col;
        float best = fabsf(a[col * n + col]);
        for (size_t r = col + 1; r < n; r++) {
            float v = fabsf(a[r * n + col]);
            if (v > best) { best = v; pivot = r; }
        }
        if (best == 0.0f) return (int)col + 1;
        if (pivot != col) {
            for (size_t j = 0; j < n; j++) { float t = a[col * n + j]; a[col * n + j] = a[pivot * n + j]; a[pivot * n + j] = t; }
            for (size_t j = 0; j < k; j++) { float t = b[col * k + j]; b[col * k + j] = b[pivot * k + j]; b[pivot * k + j] = t; }
        }
        float inv = 1.0f / a[col * n + col];
        for (size_t r = col + 1; r < n; r++) {
            float f = a[r * n + col] * inv;
            if (f == 0.0f) continue;
            for (size_t j = col; j < n; j++) a[r * n + j] -= f * a[col * n + j];
            for (size_t j = 0; j < k; j++) b[r * k + j] -= f * b[col * k + j];
        }
    }
    for (size_t col = n; col-- > 0;) {
        float inv = 1.0f / a[col * n + col];
        for (size_t j = 0; j < k; j++) b[col * k + j] *= inv;
        for (size_t r = 0; r < col; r++) {
            float f = a[r * n + col];
            if (f == 0.0f) continue;
            for (size_t j = 0; j < k; j++) b[r * k + j] -= f * b[col * k + j];
        }
    }
    return 0;
}
