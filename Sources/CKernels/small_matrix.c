// Linear solves for small systems (the Cayley transform of DAS rotations), where LAPACKE's
// row-major conversion and dispatch cost more than the elimination itself.
#include "kernel_math.h"
#include <stdlib.h>

int ik_solve_small(size_t n, size_t k, float *a, float *b) {
    // Gaussian elimination with partial pivoting on row-major A (n × n) and B (n × k), in float;
    // A and B are overwritten (B with the solution).
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
