// fp8 e4m3 storage for cross-attention keys and values (the layout in engine/state/kv_store.h):
// the CPU reference, written for clarity; kernels/quant/kv_fp8.h is the CUDA twin.
//
// e4m3 (OCP FP8, the "fn" variant Hopper converts to): 1 sign, 4 exponent bits (bias 7), 3 mantissa
// bits; no infinities; the largest finite value is 448 and 0x7F/0xFF are NaN. Encoding rounds to
// nearest, ties to even, and saturates to ±448.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

uint8_t fp8_e4m3_encode(float x);
float fp8_e4m3_decode(uint8_t code);

// Appends n rows of `src` (n, heads, head_dim), f32, at rows [start, start + n) of `data`
// (capacity, heads, head_dim) with block scales `scales` (ceil(capacity / block), heads). Every
// block the rows touch gets a new scale per head: absmax over its valid rows (those already stored
// in a partly filled first block, dequantized with their old scale, and the new ones) / 448, or 1
// for an all-zero block; the block's valid rows are then encoded with it.
void kv_fp8_append(const float* src, int64_t n, int64_t start, int64_t heads, int64_t head_dim,
                   int64_t block, uint8_t* data, float* scales);

// out (rows, heads, head_dim) f32 = data × its block scale, for rows [0, rows).
void kv_fp8_dequantize(const uint8_t* data, const float* scales, int64_t rows, int64_t heads,
                       int64_t head_dim, int64_t block, float* out);

}  // namespace vamba::kernels::reference
