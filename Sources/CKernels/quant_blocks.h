// Decoders of single ggml blocks to Float32, shared by the dequantizer (dequantize.c) and the
// quantized matrix kernels (quant_matmul.c). Every block layout and every float32 operation
// follows gguf-py's `quants.dequantize`: scales are fp16 widened exactly, products and sums are
// rounded to float32 one at a time. Contraction into fused multiply-adds is off for these
// functions (the pragma is recorded with each expression when it is parsed), so every decoded
// value matches the reference bit for bit wherever the decoder is inlined. Fields are
// little-endian; the host is assumed little-endian (x86-64, arm64).
#ifndef INTERVENE_QUANT_BLOCKS_H
#define INTERVENE_QUANT_BLOCKS_H
#include "kernel_math.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#define QK 32    // elements per block of the 32-element formats
#define QK_K 256 // elements per super-block of the K formats

IK_INLINE float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return ik_half_to_float(h);
}

IK_INLINE uint32_t u32_at(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

// ---- element types ----------------------------------------------------------------------------

IK_INLINE void dq_f16(const uint8_t *src, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = half_at(src + 2 * i);
}

IK_INLINE void dq_bf16(const uint8_t *src, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, sizeof h);
        y[i] = ik_bits_to_float((uint32_t)h << 16);
    }
}

// ---- 32-element blocks --------------------------------------------------------------------------

// Q8_0, 34 bytes: d (fp16), qs[32] (int8). x = qs·d.
IK_INLINE void dq_q8_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    const int8_t *qs = (const int8_t *)(b + 2);
    for (int j = 0; j < QK; j++) y[j] = (float)qs[j] * d;
}

// Nibble j of a 32-element block: low nibbles are elements 0..15, high nibbles 16..31.
IK_INLINE int q4_value(const uint8_t *qs, int j) {
    return j < QK / 2 ? (qs[j] & 0x0f) : (qs[j - QK / 2] >> 4);
}

// Q4_0, 18 bytes: d, qs[16]. x = d·(q − 8).
IK_INLINE void dq_q4_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < QK / 2; j++) {
        y[j] = d * (float)((qs[j] & 0x0f) - 8);
        y[j + QK / 2] = d * (float)((qs[j] >> 4) - 8);
    }
}

// Q4_1, 20 bytes: d, m, qs[16]. x = d·q + m (the product rounded before the sum).
IK_INLINE void dq_q4_1(const uint8_t *b, float *y) {
    float d = half_at(b), m = half_at(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < QK / 2; j++) {
        y[j] = d * (float)(qs[j] & 0x0f) + m;
        y[j + QK / 2] = d * (float)(qs[j] >> 4) + m;
    }
}

// The 5-bit value j of a Q5 block: the nibble from qs and bit j of qh as the fifth bit.
IK_INLINE int q5_value(const uint8_t *qs, uint32_t qh, int j) {
    return q4_value(qs, j) | (int)(((qh >> j) & 1u) << 4);
}

// Q5_0, 22 bytes: d, qh (u32), qs[16]. x = d·(q − 16).
IK_INLINE void dq_q5_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    uint32_t qh = u32_at(b + 2);
    for (int j = 0; j < QK; j++) y[j] = d * (float)(q5_value(b + 6, qh, j) - 16);
}

// Q5_1, 24 bytes: d, m, qh (u32), qs[16]. x = d·q + m.
IK_INLINE void dq_q5_1(const uint8_t *b, float *y) {
    float d = half_at(b), m = half_at(b + 2);
    uint32_t qh = u32_at(b + 4);
    for (int j = 0; j < QK; j++) y[j] = d * (float)q5_value(b + 8, qh, j) + m;
}

// ---- 256-element super-blocks -------------------------------------------------------------------

// Q2_K, 84 bytes: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. 16 groups of
// 16; element i = 128h + 32s + j takes bits 2s of qs[32h + j]; x = (d·sc)·q − dmin·m.
IK_INLINE void dq_q2_k(const uint8_t *b, float *y) {
    const uint8_t *sc = b, *qs = b + 16;
    float d = half_at(b + 80), dmin = half_at(b + 82);
    float dl[16], ml[16];
    for (int g = 0; g < 16; g++) {
        dl[g] = d * (float)(sc[g] & 0x0f);
        ml[g] = dmin * (float)(sc[g] >> 4);
    }
    for (int h = 0; h < 2; h++) {
        for (int s = 0; s < 4; s++) {
            for (int j = 0; j < 32; j++) {
                int i = 128 * h + 32 * s + j;
                y[i] = dl[i / 16] * (float)((qs[32 * h + j] >> (2 * s)) & 3) - ml[i / 16];
            }
        }
    }
}

// Q3_K, 110 bytes: hmask[32], qs[64], scales[12] (16 six-bit scales), d. Element i = 128h + 32s + j:
// two bits 2s of qs[32h + j], minus 4 unless bit i/32 of hmask[j] is set; x = (d·(scale − 32))·q.
IK_INLINE void dq_q3_k(const uint8_t *b, float *y) {
    const uint8_t *hmask = b, *qs = b + 32, *sc = b + 96;
    float d = half_at(b + 108);
    float dl[16];
    for (int g = 0; g < 16; g++) {
        int low = g < 8 ? (sc[g] & 0x0f) : (sc[g - 8] >> 4);
        int high = (sc[8 + g % 4] >> (2 * (g / 4))) & 3;
        dl[g] = d * (float)((low | (high << 4)) - 32);
    }
    for (int h = 0; h < 2; h++) {
        for (int s = 0; s < 4; s++) {
            for (int j = 0; j < 32; j++) {
                int i = 128 * h + 32 * s + j;
                int q = (qs[32 * h + j] >> (2 * s)) & 3;
                int hbit = (hmask[j] >> (4 * h + s)) & 1;
                y[i] = dl[i / 16] * (float)(q - 4 + 4 * hbit);
            }
        }
    }
}

// The eight 6-bit scales and mins of a Q4_K/Q5_K super-block, packed in 12 bytes.
IK_INLINE void k_scales(const uint8_t *s, float d, float dmin, float *dl, float *ml) {
    for (int g = 0; g < 4; g++) {
        dl[g] = d * (float)(s[g] & 0x3f);
        ml[g] = dmin * (float)(s[g + 4] & 0x3f);
        dl[g + 4] = d * (float)((s[g + 8] & 0x0f) | ((s[g] >> 2) & 0x30));
        ml[g + 4] = dmin * (float)((s[g + 8] >> 4) | ((s[g + 4] >> 2) & 0x30));
    }
}

// Q4_K, 144 bytes: d, dmin, scales[12], qs[128]. 8 groups of 32; element i = 64g + 32s + j is
// nibble s of qs[32g + j]; x = (d·sc)·q − dmin·m.
IK_INLINE void dq_q4_k(const uint8_t *b, float *y) {
    float dl[8], ml[8];
    k_scales(b + 4, half_at(b), half_at(b + 2), dl, ml);
    const uint8_t *qs = b + 16;
    for (int g = 0; g < 4; g++) {
        for (int s = 0; s < 2; s++) {
            float dg = dl[2 * g + s], mg = ml[2 * g + s];
            float *out = y + 64 * g + 32 * s;
            for (int j = 0; j < 32; j++) out[j] = dg * (float)((qs[32 * g + j] >> (4 * s)) & 0x0f) - mg;
        }
    }
}

// Q5_K, 176 bytes: d, dmin, scales[12], qh[32], qs[128]. As Q4_K with bit i/32 of qh[j] as the fifth bit.
IK_INLINE void dq_q5_k(const uint8_t *b, float *y) {
    float dl[8], ml[8];
    k_scales(b + 4, half_at(b), half_at(b + 2), dl, ml);
    const uint8_t *qh = b + 16, *qs = b + 48;
    for (int g = 0; g < 4; g++) {
        for (int s = 0; s < 2; s++) {
            int sub = 2 * g + s;
            float dg = dl[sub], mg = ml[sub];
            float *out = y + 32 * sub;
            for (int j = 0; j < 32; j++) {
                int q = ((qs[32 * g + j] >> (4 * s)) & 0x0f) | (((qh[j] >> sub) & 1) << 4);
                out[j] = dg * (float)q - mg;
            }
        }
    }
}

// Q6_K, 210 bytes: ql[128], qh[64], scales[16] (int8), d. Element i = 128h + r: nibble r/64 of
// ql[64h + r%64], two high bits 2(r/32) of qh[32h + r%32]; x = (d·scale)·(q − 32), 16 groups of 16.
IK_INLINE void dq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = half_at(b + 208);
    float dl[16];
    for (int g = 0; g < 16; g++) dl[g] = d * (float)sc[g];
    for (int h = 0; h < 2; h++) {
        for (int t = 0; t < 4; t++) {  // 32 elements i = 128h + 32t + j
            const uint8_t *lo = ql + 64 * h + 32 * (t % 2), *hi = qh + 32 * h;
            int i0 = 128 * h + 32 * t, lshift = 4 * (t / 2), hshift = 2 * t;
            for (int j = 0; j < 32; j++) {
                int q = ((lo[j] >> lshift) & 0x0f) | (((hi[j] >> hshift) & 3) << 4);
                y[i0 + j] = dl[(i0 + j) / 16] * (float)(q - 32);
            }
        }
    }
}

#endif
