// Reductions and row-wise kernels: sums, maxima, softmax, layer norm, RMS norm.
#include "kernel_math.h"

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
        } else if (b) {
            IK_VECTOR
            for (size_t k = 0; k < cols; k++) yr[k] = (xr[k] - mu) * rs + b[k];
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

