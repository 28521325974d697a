// Vectorised Float32 kernels for the Tensors module.
//
// Every kernel is compiled three times (AVX-512, AVX2+FMA, baseline x86-64) and the loader picks
// the best version for the running CPU, so one binary is fast everywhere. Transcendental functions
// use polynomial approximations whose maximum errors are stated in elementwise.c.
#ifndef INTERVENE_CKERNELS_H
#define INTERVENE_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Unary elementwise operations understood by `ik_unary` and `ik_unary_backward`.
typedef enum {
    IK_EXP = 0,
    IK_LOG = 1,
    IK_SQRT = 2,
    IK_TANH = 3,
    IK_SIGMOID = 4,
    IK_RELU = 5,
    IK_GELU_TANH = 6,
    IK_GELU_ERF = 7,
    IK_SILU = 8,
    IK_NEG = 9,
    IK_ABS = 10,
    IK_SQUARE = 11,
    IK_RSQRT = 12,
    IK_RECIPROCAL = 13,
} ik_unary_op;

/// Binary elementwise operations understood by `ik_binary`.
typedef enum {
    IK_ADD = 0,
    IK_SUB = 1,
    IK_MUL = 2,
    IK_DIV = 3,
    IK_MAX = 4,
    IK_MIN = 5,
} ik_binary_op;

/// y[i] = op(x[i]) for i < n. x and y may alias.
void ik_unary(int op, const float *x, float *y, size_t n);

/// dx[i] = dy[i] * op'(x[i]); `y` is the forward output (used where cheaper). `dx` may alias `dy`.
void ik_unary_backward(int op, const float *x, const float *y, const float *dy, float *dx, size_t n);

/// out[i] = a[i * sa] op b[i * sb] with strides sa, sb ∈ {0, 1}.
void ik_binary(int op, const float *a, size_t sa, const float *b, size_t sb, float *out, size_t n);

/// y[i] = a * x[i] + b.
void ik_affine(const float *x, float a, float b, float *y, size_t n);

/// y[i] += x[i].
void ik_accumulate(float *y, const float *x, size_t n);

/// Sum of x[0..<n] with several accumulators.
float ik_sum(const float *x, size_t n);

/// Sum of x[i] * y[i].
float ik_dot(const float *x, const float *y, size_t n);

/// Largest element of x[0..<n] (n > 0).
float ik_max(const float *x, size_t n);

/// Row-wise stable softmax of a rows × cols matrix. x and y may alias.
void ik_softmax_rows(const float *x, float *y, size_t rows, size_t cols);

/// Row-wise stable log-softmax. x and y must not alias.
void ik_log_softmax_rows(const float *x, float *y, size_t rows, size_t cols);

/// Backward of softmax: dx = y ⊙ (dy − Σ dy ⊙ y), per row.
void ik_softmax_backward_rows(const float *y, const float *dy, float *dx, size_t rows, size_t cols);

/// Backward of log-softmax: dx = dy − exp(y) Σ dy, per row.
void ik_log_softmax_backward_rows(const float *y, const float *dy, float *dx, size_t rows, size_t cols);

/// Layer norm per row: y = (x − μ) · rstd · w + b; writes mean and rstd per row.
/// w and b may be NULL (identity scale, zero shift).
void ik_layer_norm_rows(const float *x, const float *w, const float *b, float *y, float *mean,
                        float *rstd, size_t rows, size_t cols, float eps);

/// Backward of layer norm with respect to its input x (dx may be NULL) and accumulating into
/// dw and db when they are non-NULL.
void ik_layer_norm_backward_rows(const float *x, const float *w, const float *mean, const float *rstd,
                                 const float *dy, float *dx, float *dw, float *db, size_t rows,
                                 size_t cols);

/// RMS norm per row: y = x · rsqrt(mean(x²) + eps) · w; writes rstd per row. w may be NULL.
void ik_rms_norm_rows(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols,
                      float eps);

/// Backward of RMS norm (dx may be NULL; dw accumulated when non-NULL).
void ik_rms_norm_backward_rows(const float *x, const float *w, const float *rstd, const float *dy,
                               float *dx, float *dw, size_t rows, size_t cols);

/// Converts IEEE half floats to Float32.
void ik_f16_to_f32(const uint16_t *x, float *y, size_t n);

/// Converts bfloat16 to Float32.
void ik_bf16_to_f32(const uint16_t *x, float *y, size_t n);

/// Converts Float32 to IEEE half (round to nearest even).
void ik_f32_to_f16(const float *x, uint16_t *y, size_t n);

/// Dequantizes `blocks` consecutive ggml blocks of type id `type` (GGUF tensor data, little-endian)
/// into Float32 as gguf-py computes them. Types: F32 (0), F16 (1), Q4_0 (2), Q4_1 (3), Q5_0 (6),
/// Q5_1 (7), Q8_0 (8), Q2_K (10), Q3_K (11), Q4_K (12), Q5_K (13), Q6_K (14), BF16 (30); a block
/// of the element types is one element. Returns 0, or -1 for any other type (nothing written).
int ik_dequantize(uint32_t type, const uint8_t *src, float *dst, size_t blocks);

/// Most input rows `ik_quant_matmul_rows` takes per call.
#define IK_QUANT_MAX_ROWS 8

/// Product with a matrix W (rows × cols) kept in ggml blocks of type `type` (the block types of
/// `ik_dequantize`), row o stored at w + o·row_bytes with its blocks along the columns:
/// y[r·ldy + o] = bias[o] + Σ_i W[o, i] · x[r·ldx + i] for o in [row_begin, row_end) and r < n
/// (1 ≤ n ≤ IK_QUANT_MAX_ROWS; bias may be NULL). Each block is decoded exactly as
/// `ik_dequantize` decodes it, so only the float32 summation order differs from multiplying the
/// dequantized matrix. Returns 0, or -1 for another type or n (nothing written).
int ik_quant_matmul_rows(uint32_t type, const uint8_t *w, size_t row_bytes, size_t row_begin, size_t row_end,
                         size_t cols, const float *x, size_t n, size_t ldx, const float *bias, float *y, size_t ldy);

/// A 64-byte-aligned buffer of `bytes`, reusing a cached buffer of exactly that size if any.
void *ik_buffer_allocate(size_t bytes);

/// Returns a buffer from `ik_buffer_allocate` to the cache (or to the system when full).
void ik_buffer_release(void *pointer, size_t bytes);

/// Frees every cached buffer.
void ik_buffer_purge(void);

/// Bytes held idle by the cache.
size_t ik_buffer_idle_bytes(void);

/// Sets the most bytes the cache keeps idle (default 2 GiB).
void ik_buffer_set_capacity(size_t bytes);

/// The most bytes kept idle (128 MiB unless INTERVENE_BUFFER_CACHE_MIB or a set_capacity call says otherwise).
size_t ik_buffer_capacity(void);

/// 1 when an idle buffer of exactly `bytes` is cached (in the shared cache or this thread's).
int ik_buffer_holds(size_t bytes);

/// Atomically exchanges two paths (Linux renameat2 RENAME_EXCHANGE). Returns 0 or an errno.
int ik_exchange_paths(const char *a, const char *b);

/// Solves A X = B in place for small row-major A (n × n) and B (n × k) by Gaussian elimination
/// with partial pivoting. Returns 0, or 1 + the column of a zero pivot (singular A).
int ik_solve_small(size_t n, size_t k, float *a, float *b);

#endif
