// Products with matrices kept in ggml blocks: every block of a weight row is decoded into a
// small stack buffer (the decoders of quant_blocks.h, so each weight equals the dequantized
// weight bit for bit) and multiplied into up to IK_QUANT_MAX_ROWS input rows at once. Only the
// order of the float32 accumulation differs from dequantize-then-sgemm. Compiled per CPU level
// like every kernel here (AVX-512, AVX2+FMA, baseline); the 16-lane accumulators vectorise.
#include "quant_blocks.h"

// The dot products may fuse multiply-adds (the decoders above were parsed with contraction off).
#if defined(__clang__)
#pragma clang fp contract(fast)
#endif

IK_INLINE float qm_tree_sum16(float *acc) {
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

// y[r·ldy + o] = bias[o] + Σ_b Σ_k t_b[k] · x[r·ldx + b·E + k] for rows o of [o0, o1), where t_b
// is block b of weight row o decoded by `fn` (E elements in B bytes).
#define DEFINE_QUANT_ROWS(name, fn, E, B)                                                          \
    IK_INLINE void name(const uint8_t *w, size_t row_bytes, size_t o0, size_t o1, size_t cols,      \
                        const float *x, size_t n, size_t ldx, const float *bias, float *y, size_t ldy) { \
        float t[E];                                                                                \
        size_t blocks = cols / (E);                                                                \
        for (size_t o = o0; o < o1; o++) {                                                         \
            const uint8_t *row = w + o * row_bytes;                                                \
            float b0 = bias ? bias[o] : 0.0f;                                                      \
            if (n == 1) {                                                                          \
                float acc[16] = {0};                                                               \
                for (size_t b = 0; b < blocks; b++) {                                              \
                    fn(row + b * (B), t);                                                          \
                    const float *xb = x + b * (E);                                                 \
                    for (size_t k = 0; k < (E); k += 16)                                           \
                        for (size_t l = 0; l < 16; l++) acc[l] += t[k + l] * xb[k + l];            \
                }                                                                                  \
                y[o] = b0 + qm_tree_sum16(acc);                                                    \
                continue;                                                                          \
            }                                                                                      \
            float acc[IK_QUANT_MAX_ROWS][16];                                                      \
            memset(acc, 0, sizeof acc);                                                            \
            for (size_t b = 0; b < blocks; b++) {                                                  \
                fn(row + b * (B), t);                                                              \
                for (size_t r = 0; r < n; r++) {                                                   \
                    const float *xb = x + r * ldx + b * (E);                                       \
                    for (size_t k = 0; k < (E); k += 16)                                           \
                        for (size_t l = 0; l < 16; l++) acc[r][l] += t[k + l] * xb[k + l];         \
                }                                                                                  \
            }                                                                                      \
            for (size_t r = 0; r < n; r++) y[r * ldy + o] = b0 + qm_tree_sum16(acc[r]);            \
        }                                                                                          \
    }

DEFINE_QUANT_ROWS(qr_q4_0, dq_q4_0, QK, 18)
DEFINE_QUANT_ROWS(qr_q4_1, dq_q4_1, QK, 20)
DEFINE_QUANT_ROWS(qr_q5_0, dq_q5_0, QK, 22)
DEFINE_QUANT_ROWS(qr_q5_1, dq_q5_1, QK, 24)
DEFINE_QUANT_ROWS(qr_q8_0, dq_q8_0, QK, 34)
DEFINE_QUANT_ROWS(qr_q2_k, dq_q2_k, QK_K, 84)
DEFINE_QUANT_ROWS(qr_q3_k, dq_q3_k, QK_K, 110)
DEFINE_QUANT_ROWS(qr_q4_k, dq_q4_k, QK_K, 144)
DEFINE_QUANT_ROWS(qr_q5_k, dq_q5_k, QK_K, 176)
DEFINE_QUANT_ROWS(qr_q6_k, dq_q6_k, QK_K, 210)

#define QUANT_ROWS_CALL(fn) fn(w, row_bytes, row_begin, row_end, cols, x, n, ldx, bias, y, ldy); return 0

IK_CLONES int ik_quant_matmul_rows(uint32_t type, const uint8_t *w, size_t row_bytes, size_t row_begin,
                                   size_t row_end, size_t cols, const float *x, size_t n, size_t ldx,
                                   const float *bias, float *y, size_t ldy) {
    if (n == 0 || n > IK_QUANT_MAX_ROWS) return -1;
    switch (type) {
    case 2: QUANT_ROWS_CALL(qr_q4_0);
    case 3: QUANT_ROWS_CALL(qr_q4_1);
    case 6: QUANT_ROWS_CALL(qr_q5_0);
    case 7: QUANT_ROWS_CALL(qr_q5_1);
    case 8: QUANT_ROWS_CALL(qr_q8_0);
    case 10: QUANT_ROWS_CALL(qr_q2_k);
    case 11: QUANT_ROWS_CALL(qr_q3_k);
    case 12: QUANT_ROWS_CALL(qr_q4_k);
    case 13: QUANT_ROWS_CALL(qr_q5_k);
    case 14: QUANT_ROWS_CALL(qr_q6_k);
    default: return -1;
    }
}
