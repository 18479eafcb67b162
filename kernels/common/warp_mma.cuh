// Warp-level bf16 tensor-core helpers (mma.sync m16n8k16, fp32 accumulate) shared by the attention
// and SSD kernels, plus cp.async copies into shared memory.
//
// Fragment ownership (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with g = lane / 4 and
// t = lane % 4; every 32-bit register holds two bf16 neighbours along K (low half = lower index):
//   A (16 x 16, row major):  a[0] = A[g][2t..2t+1]    a[1] = A[g+8][2t..]
//                            a[2] = A[g][2t+8..]      a[3] = A[g+8][2t+8..]
//   B (16 x 8, "col"):       b[0] = B[2t..2t+1][g]    b[1] = B[2t+8..2t+9][g]
//   C (16 x 8, fp32):        c[0], c[1] = C[g][2t], C[g][2t+1]   c[2], c[3] = C[g+8][2t],
//   C[g+8][2t+1]
// The C layout of two neighbouring 8-column blocks is exactly the A layout of one 16-wide K step,
// which is how attention feeds softmax(S) straight back into P·V without shared memory.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace vamba::kernels::mma {

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x = lo (low 16 bits), .y = hi
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t pack_bf16x2(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(lo)) |
         (static_cast<uint32_t>(__bfloat16_as_ushort(hi)) << 16);
}

// The PTX primitives. A CPU emulation of the kernels (tests/kernels_cuda/emu) defines
// VAMBA_KERNEL_EMULATION and supplies its own versions of exactly these functions.
#ifndef VAMBA_KERNEL_EMULATION

// d += a · b on one 16x8x16 tile.
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4],
                                               const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row_addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(row_addr)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(row_addr)));
}

// 16-byte asynchronous global -> shared copy; when `valid` is false the 16 bytes are zero-filled
// (src-size 0: nothing is read from `src`, which must still be a valid-looking address).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
               "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

#endif  // VAMBA_KERNEL_EMULATION

__device__ __forceinline__ uint32_t lds32(const __nv_bfloat16* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// A fragment of a row-major bf16 tile in shared memory: rows row0..row0+15, columns k0..k0+15.
// `ld` is the row stride in elements (even).
__device__ __forceinline__ void load_a_rowmajor(uint32_t (&a)[4], const __nv_bfloat16* s, int ld,
                                                int row0, int k0, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const __nv_bfloat16* p = s + (row0 + g) * ld + k0 + 2 * t;
  a[0] = lds32(p);
  a[1] = lds32(p + 8 * ld);
  a[2] = lds32(p + 8);
  a[3] = lds32(p + 8 * ld + 8);
}

// A fragment when the tile is stored transposed, s[k][m] (the M index contiguous): A[m][k] =
// s[k0 + k][m0 + m]. Two 16-bit reads per register.
__device__ __forceinline__ void load_a_colmajor(uint32_t (&a)[4], const __nv_bfloat16* s, int ld,
                                                int m0, int k0, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const __nv_bfloat16* p = s + (k0 + 2 * t) * ld + m0 + g;
  a[0] = pack_bf16x2(p[0], p[ld]);
  a[1] = pack_bf16x2(p[8], p[ld + 8]);
  a[2] = pack_bf16x2(p[8 * ld], p[9 * ld]);
  a[3] = pack_bf16x2(p[8 * ld + 8], p[9 * ld + 8]);
}

// B fragment when B is stored as s[n][k] (K contiguous, e.g. the key tile for Q·Kᵀ): B[k][n] =
// s[n0 + n][k0 + k].
__device__ __forceinline__ void load_b_nk(uint32_t (&b)[2], const __nv_bfloat16* s, int ld, int n0,
                                          int k0, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const __nv_bfloat16* p = s + (n0 + g) * ld + k0 + 2 * t;
  b[0] = lds32(p);
  b[1] = lds32(p + 8);
}

// B fragment when B is stored as s[k][n] (N contiguous, e.g. the value tile for P·V): B[k][n] =
// s[k0 + k][n0 + n]. Two 16-bit reads per register.
__device__ __forceinline__ void load_b_kn(uint32_t (&b)[2], const __nv_bfloat16* s, int ld, int n0,
                                          int k0, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const __nv_bfloat16* p = s + (k0 + 2 * t) * ld + n0 + g;
  b[0] = pack_bf16x2(p[0], p[ld]);
  b[1] = pack_bf16x2(p[8 * ld], p[9 * ld]);
}

// ldmatrix variants (one instruction loads four 8x8 b16 matrices; lane i gives the row address of
// row i % 8 of matrix i / 8). Faster than the 32-bit reads above; both forms are kept so the tests
// can check one against the other.
// Same as load_a_rowmajor through ldmatrix: matrix j covers rows row0 + 8·(j % 2), columns
// k0 + 8·(j / 2), which is the a[0..3] order.
__device__ __forceinline__ void ldsm_a_rowmajor(uint32_t (&a)[4], const __nv_bfloat16* s, int ld,
                                                int row0, int k0, int lane) {
  const int j = lane >> 3, r = lane & 7;
  ldmatrix_x4(a, s + (row0 + (j & 1) * 8 + r) * ld + k0 + (j >> 1) * 8);
}

// Two neighbouring B fragments (columns n0..n0+7 and n0+8..n0+15) of an s[n][k] tile:
// b0 = {r[0], r[1]}, b1 = {r[2], r[3]}. Matrix j covers rows n0 + 8·(j / 2), columns k0 + 8·(j %
// 2).
__device__ __forceinline__ void ldsm_b_nk_x2(uint32_t (&b0)[2], uint32_t (&b1)[2],
                                             const __nv_bfloat16* s, int ld, int n0, int k0,
                                             int lane) {
  const int j = lane >> 3, r = lane & 7;
  uint32_t v[4];
  ldmatrix_x4(v, s + (n0 + (j >> 1) * 8 + r) * ld + k0 + (j & 1) * 8);
  b0[0] = v[0];
  b0[1] = v[1];
  b1[0] = v[2];
  b1[1] = v[3];
}

// Two neighbouring B fragments of an s[k][n] tile through the transposing ldmatrix: matrix j covers
// rows (K) k0 + 8·(j % 2), columns (N) n0 + 8·(j / 2); the transpose hands lane (g, t) the elements
// [2t][g] and [2t+1][g] of each matrix, the B layout.
__device__ __forceinline__ void ldsm_b_kn_x2(uint32_t (&b0)[2], uint32_t (&b1)[2],
                                             const __nv_bfloat16* s, int ld, int n0, int k0,
                                             int lane) {
  const int j = lane >> 3, r = lane & 7;
  uint32_t v[4];
  ldmatrix_x4_trans(v, s + (k0 + (j & 1) * 8 + r) * ld + n0 + (j >> 1) * 8);
  b0[0] = v[0];
  b0[1] = v[1];
  b1[0] = v[2];
  b1[1] = v[3];
}

// A fragment of an s[k][m] tile (transposed storage) through the transposing ldmatrix: matrix j
// covers rows (K) k0 + 8·(j / 2), columns (M) m0 + 8·(j % 2), the a[0..3] order.
__device__ __forceinline__ void ldsm_a_colmajor(uint32_t (&a)[4], const __nv_bfloat16* s, int ld,
                                                int m0, int k0, int lane) {
  const int j = lane >> 3, r = lane & 7;
  ldmatrix_x4_trans(a, s + (k0 + (j >> 1) * 8 + r) * ld + m0 + (j & 1) * 8);
}

}  // namespace vamba::kernels::mma
