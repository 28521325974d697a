// Dequantization of ggml blocks (as stored in GGUF tensor data) to Float32, with the block
// decoders of quant_blocks.h (gguf-py's arithmetic, bit for bit).
#include "quant_blocks.h"

// ---- dispatch -----------------------------------------------------------------------------------

#define BLOCK_LOOP(fn, elements, bytes)                                                  \
    for (size_t k = 0; k < blocks; k++) fn(src + k * (bytes), dst + k * (elements));    \
    return 0

IK_CLONES int ik_dequantize(uint32_t type, const uint8_t *src, float *dst, size_t blocks) {
    switch (type) {
    case 0: memcpy(dst, src, blocks * 4); return 0;  // F32
    case 1: dq_f16(src, dst, blocks); return 0;       // F16
    case 30: dq_bf16(src, dst, blocks); return 0;     // BF16
    case 2: BLOCK_LOOP(dq_q4_0, QK, 18);
    case 3: BLOCK_LOOP(dq_q4_1, QK, 20);
    case 6: BLOCK_LOOP(dq_q5_0, QK, 22);
    case 7: BLOCK_LOOP(dq_q5_1, QK, 24);
    case 8: BLOCK_LOOP(dq_q8_0, QK, 34);
    case 10: BLOCK_LOOP(dq_q2_k, QK_K, 84);
    case 11: BLOCK_LOOP(dq_q3_k, QK_K, 110);
    case 12: BLOCK_LOOP(dq_q4_k, QK_K, 144);
    case 13: BLOCK_LOOP(dq_q5_k, QK_K, 176);
    case 14: BLOCK_LOOP(dq_q6_k, QK_K, 210);
    default: return -1;
    }
}
