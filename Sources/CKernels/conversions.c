// Conversions between Float32 and half precision.
#include "kernel_math.h"

IK_CLONES void ik_f16_to_f32(const uint16_t *x, float *y, size_t n) {
    IK_VECTOR
    for (size_t i = 0; i < n; i++) y[i] = ik_half_to_float(x[i]);
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
