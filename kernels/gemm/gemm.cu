// Host-only: the cuBLASLt plumbing behind gemm(). (A .cu file because kernels/ builds only .cu in
// its CUDA library; nothing here runs on the device.)
#include <cublasLt.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "kernels/common/cuda_check.cuh"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemv.h"
#include "kernels/gemm/gemv_mma.h"

namespace vamba::kernels {
namespace {

// Element offsets inside one cuBLASLt call stay below this (see can_implement's comment).
constexpr int64_t kMaxElems = int64_t{0x7fffffff};

thread_local std::string t_last_error;

cudaError_t fail(cudaError_t code, std::string what) {
  t_last_error = std::move(what);
  return code;
}

cudaError_t fail_cublas(cublasStatus_t s, const char* step) {
  cudaError_t code = cudaErrorUnknown;
  switch (s) {
    case CUBLAS_STATUS_NOT_SUPPORTED:
      code = cudaErrorNotSupported;
      break;
    case CUBLAS_STATUS_ALLOC_FAILED:
      code = cudaErrorMemoryAllocation;
      break;
    case CUBLAS_STATUS_INVALID_VALUE:
      code = cudaErrorInvalidValue;
      break;
    default:
      break;
  }
  return fail(code, std::string("cuBLASLt ") + step + ": " + cublasLtGetStatusName(s) + " (" +
                        cublasLtGetStatusString(s) + ")");
}

#define VAMBA_CUBLAS_TRY(expr, step)                                           \
  do {                                                                         \
    const cublasStatus_t vamba_s_ = (expr);                                    \
    if (vamba_s_ != CUBLAS_STATUS_SUCCESS) return fail_cublas(vamba_s_, step); \
  } while (0)

// Largest power of two (≤ 256) dividing both the address and the row pitch in bytes: the alignment
// every row of the matrix keeps, which is what cuBLASLt's kernels rely on.
int64_t alignment(const void* p, int64_t ld_bytes) {
  int64_t a = 256;
  const auto addr = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p));
  while (a > 1 && (addr % a != 0 || ld_bytes % a != 0)) a /= 2;
  return a;
}

// One handle per device.
struct HandleCache {
  std::mutex mu;
  std::map<int, cublasLtHandle_t> handles;
  std::map<std::pair<int, cudaStream_t>, void*> workspaces;
};

HandleCache& handle_cache() {
  static HandleCache* cache = new HandleCache();  // never destroyed: outlives static teardown
  return *cache;
}

cudaError_t get_handle_and_workspace(int device, cudaStream_t stream, cublasLtHandle_t* handle,
                                     void** workspace) {
  HandleCache& c = handle_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto h = c.handles.find(device);
  if (h == c.handles.end()) {
    cublasLtHandle_t created = nullptr;
    VAMBA_CUBLAS_TRY(cublasLtCreate(&created), "create handle");
    h = c.handles.emplace(device, created).first;
  }
  *handle = h->second;
  auto key = std::make_pair(device, stream);
  auto ws = c.workspaces.find(key);
  if (ws == c.workspaces.end()) {
    void* mem = nullptr;
    const cudaError_t e = cudaMalloc(&mem, kGemmWorkspaceBytes);
    if (e != cudaSuccess) return fail(e, "cudaMalloc of the cuBLASLt workspace failed");
    ws = c.workspaces.emplace(key, mem).first;
  }
  *workspace = ws->second;
  return cudaSuccess;
}

// Everything that decides the algorithm: shape, strides, alignment, output type, epilogue.
using PlanKey = std::array<int64_t, 14>;

// Written once by make_plan, then only read (cuBLASLt takes the layouts by non-const pointer but
// does not modify them in cublasLtMatmul), so threads share plans without a lock.
struct Plan {
  cublasLtMatrixLayoutOpaque_t a, b, c;
  cublasLtMatmulAlgo_t algo;
};

struct PlanCache {
  std::mutex mu;
  std::map<PlanKey, std::shared_ptr<Plan>> plans;
};

PlanCache& plan_cache() {
  static PlanCache* cache = new PlanCache();
  return *cache;
}

// A matmul descriptor for y(col-major n × m) = W(k × n col-major)ᵀ · x(k × m col-major): the
// row-major product y = x · Wᵀ seen from cuBLAS's column-major side, the "TN" layout cuBLASLt runs
// fastest. Bias (length n = the rows of column-major D) is added by the epilogue.
cudaError_t init_desc(cublasLtMatmulDescOpaque_t* desc, const void* bias) {
  VAMBA_CUBLAS_TRY(cublasLtMatmulDescInit(desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "desc init");
  const cublasOperation_t op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N;
  VAMBA_CUBLAS_TRY(
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_t, sizeof(op_t)),
      "set transa");
  VAMBA_CUBLAS_TRY(
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof(op_n)),
      "set transb");
  if (bias != nullptr) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    VAMBA_CUBLAS_TRY(
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)),
        "set epilogue");
    VAMBA_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                    sizeof(bias)),
                     "set bias pointer");
  }
  return cudaSuccess;
}

struct Piece {
  const void* x;
  void* y;
  int64_t m;
};

cudaError_t make_plan(cublasLtHandle_t handle, const GemmParams& p, const Piece& piece, int64_t ldx,
                      int64_t ldw, int64_t ldy, const PlanKey& key, std::shared_ptr<Plan>* out) {
  auto plan = std::make_shared<Plan>();
  const cudaDataType_t y_type = p.y_f32 ? CUDA_R_32F : CUDA_R_16BF;
  VAMBA_CUBLAS_TRY(cublasLtMatrixLayoutInit(&plan->a, CUDA_R_16BF, static_cast<uint64_t>(p.k),
                                            static_cast<uint64_t>(p.n), ldw),
                   "layout W");
  VAMBA_CUBLAS_TRY(cublasLtMatrixLayoutInit(&plan->b, CUDA_R_16BF, static_cast<uint64_t>(p.k),
                                            static_cast<uint64_t>(piece.m), ldx),
                   "layout x");
  VAMBA_CUBLAS_TRY(cublasLtMatrixLayoutInit(&plan->c, y_type, static_cast<uint64_t>(p.n),
                                            static_cast<uint64_t>(piece.m), ldy),
                   "layout y");
  cublasLtMatmulDescOpaque_t desc;
  VAMBA_CUDA_TRY(init_desc(&desc, p.bias));

  cublasLtMatmulPreferenceOpaque_t pref;
  VAMBA_CUBLAS_TRY(cublasLtMatmulPreferenceInit(&pref), "preference init");
  const uint64_t ws = kGemmWorkspaceBytes;
  VAMBA_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(
                       &pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
                   "preference workspace");
  const std::array<cublasLtMatmulPreferenceAttributes_t, 4> align_attr = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  // key[9..11] = alignment of W, x, y (A, B, C = D).
  const std::array<uint32_t, 4> align_val = {
      static_cast<uint32_t>(key[9]), static_cast<uint32_t>(key[10]), static_cast<uint32_t>(key[11]),
      static_cast<uint32_t>(key[11])};
  for (int i = 0; i < 4; ++i) {
    VAMBA_CUBLAS_TRY(
        cublasLtMatmulPreferenceSetAttribute(&pref, align_attr[i], &align_val[i], sizeof(uint32_t)),
        "preference alignment");
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  VAMBA_CUBLAS_TRY(cublasLtMatmulAlgoGetHeuristic(handle, &desc, &plan->a, &plan->b, &plan->c,
                                                  &plan->c, &pref, 1, &result, &found),
                   "heuristic");
  if (found == 0) {
    return fail(cudaErrorNotSupported,
                "cuBLASLt found no algorithm for m=" + std::to_string(piece.m) +
                    " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k));
  }
  plan->algo = result.algo;
  *out = std::move(plan);
  return cudaSuccess;
}

cudaError_t run_piece(cublasLtHandle_t handle, void* workspace, int device, const GemmParams& p,
                      const Piece& piece, int64_t ldx, int64_t ldw, int64_t ldy,
                      cudaStream_t stream) {
  const int64_t y_elt = p.y_f32 ? 4 : 2;
  const PlanKey key = {device,
                       piece.m,
                       p.n,
                       p.k,
                       ldx,
                       ldw,
                       ldy,
                       p.y_f32 ? 1 : 0,
                       p.accumulate ? 1 : 0,
                       alignment(p.w, ldw * 2),
                       alignment(piece.x, ldx * 2),
                       alignment(piece.y, ldy * y_elt),
                       p.bias != nullptr ? alignment(p.bias, 0) : 0,
                       0};
  std::shared_ptr<Plan> plan;
  {
    PlanCache& c = plan_cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.plans.find(key);
    if (it != c.plans.end()) plan = it->second;
  }
  if (plan == nullptr) {
    // Planning outside the lock: two threads may plan the same key; both results are valid.
    VAMBA_CUDA_TRY(make_plan(handle, p, piece, ldx, ldw, ldy, key, &plan));
    PlanCache& c = plan_cache();
    std::lock_guard<std::mutex> lock(c.mu);
    c.plans.emplace(key, plan);
  }
  cublasLtMatmulDescOpaque_t desc;
  VAMBA_CUDA_TRY(init_desc(&desc, p.bias));
  const float alpha = 1.0f, beta = p.accumulate ? 1.0f : 0.0f;
  VAMBA_CUBLAS_TRY(cublasLtMatmul(handle, &desc, &alpha, p.w, &plan->a, piece.x, &plan->b, &beta,
                                  piece.y, &plan->c, piece.y, &plan->c, &plan->algo, workspace,
                                  kGemmWorkspaceBytes, stream),
                   "matmul");
  return cudaSuccess;
}

// VAMBA_GEMV (read once), for A/B timing of whole decode steps:
//   unset:  the measured choice (fused decode forms on the tensor-core GEMV, plain products on
//           the CUDA-core GEMV up to 4 rows and cuBLASLt beyond);
//   unfused: the same without the fused forms (separate q/k/v and gate/up products);
//   mma:    every decode-shape product on the tensor-core GEMV;
//   cublas: every product on cuBLASLt, no fused forms.
enum class DecodeGemv { kDefault, kUnfused, kMma, kCublas };

DecodeGemv decode_gemv_path() {
  static const DecodeGemv path = [] {
    const char* env = std::getenv("VAMBA_GEMV");
    if (env == nullptr) return DecodeGemv::kDefault;
    if (std::strcmp(env, "unfused") == 0) return DecodeGemv::kUnfused;
    if (std::strcmp(env, "mma") == 0) return DecodeGemv::kMma;
    if (std::strcmp(env, "cublas") == 0) return DecodeGemv::kCublas;
    return DecodeGemv::kDefault;
  }();
  return path;
}

GemvMmaParams to_gemv_mma(const GemmParams& p) {
  GemvMmaParams q;
  q.x = p.x;
  q.w = p.w;
  q.bias = p.bias;
  q.m = p.m;
  q.n = p.n;
  q.k = p.k;
  q.ldx = p.ldx;
  q.ldw = p.ldw;
  q.out[0].y = p.y;
  q.out[0].rows = p.n;
  q.out[0].ldy = p.ldy;
  q.num_outputs = 1;
  q.y_f32 = p.y_f32;
  q.accumulate = p.accumulate;
  return q;
}

}  // namespace

bool gemv_mma_auto(int64_t m) {
  const DecodeGemv path = decode_gemv_path();
  return m >= 1 && m <= kGemvMmaMaxRows &&
         (path == DecodeGemv::kDefault || path == DecodeGemv::kMma);
}

const char* can_implement(const GemmParams& p) {
  if (p.m < 0) return "negative m";
  if (p.m == 0) return nullptr;  // nothing to do: empty tensors may have no storage
  if (p.x == nullptr || p.w == nullptr || p.y == nullptr) return "null x, w or y";
  if (p.n < 1 || p.n > kMaxElems || p.k < 1 || p.k > kMaxElems) return "n, k outside [1, 2^31)";
  const int64_t ldx = p.ldx == 0 ? p.k : p.ldx;
  const int64_t ldw = p.ldw == 0 ? p.k : p.ldw;
  const int64_t ldy = p.ldy == 0 ? p.n : p.ldy;
  if (ldx < p.k || ldw < p.k || ldy < p.n) return "row stride smaller than the row";
  if (p.n > kMaxElems / ldw) return "weight larger than 2^31 elements";
  if (ldx > kMaxElems || ldy > kMaxElems) return "row stride of 2^31 elements or more";
  if (p.bias != nullptr && p.y_f32) return "bias needs a bf16 output";
  return nullptr;
}

cudaError_t gemm(const GemmParams& p, cudaStream_t stream) {
  t_last_error.clear();
  if (const char* why = can_implement(p)) {
    return fail(cudaErrorInvalidValue, std::string("gemm: ") + why);
  }
  if (p.m == 0) return cudaSuccess;
  // kAuto: decode shapes go to the kernel bench/kernels/README.md measured fastest on the H100 for
  // a plain product: the CUDA-core GEMV up to kGemvAutoMaxRows rows, cuBLASLt beyond (the
  // tensor-core GEMV wins only in its fused forms, which the ops call directly). Anything a GEMV
  // cannot run stays on cuBLASLt.
  if (p.impl == GemmImpl::kAuto) {
    const DecodeGemv path = decode_gemv_path();
    if (path == DecodeGemv::kMma && p.m <= kGemvMmaMaxRows) {
      const GemvMmaParams q = to_gemv_mma(p);
      if (gemv_mma_can_implement(q) == nullptr) {
        const cudaError_t e = gemv_mma(q, stream);
        return e == cudaSuccess ? e : fail(e, "gemv_mma launch failed");
      }
    }
    if (path != DecodeGemv::kCublas && p.m <= kGemvAutoMaxRows &&
        gemv_can_implement(p) == nullptr) {
      const cudaError_t e = gemv(p, stream);
      return e == cudaSuccess ? e : fail(e, "gemv launch failed");
    }
  }
  if (p.impl == GemmImpl::kGemvMma) {
    const GemvMmaParams q = to_gemv_mma(p);
    if (const char* why = gemv_mma_can_implement(q)) {
      return fail(cudaErrorNotSupported, std::string("gemm: ") + why);
    }
    const cudaError_t e = gemv_mma(q, stream);
    return e == cudaSuccess ? e : fail(e, "gemv_mma launch failed");
  }
  if (p.impl == GemmImpl::kGemv) {
    if (const char* why = gemv_can_implement(p)) {
      return fail(cudaErrorNotSupported, std::string("gemm: ") + why);
    }
    const cudaError_t e = gemv(p, stream);
    return e == cudaSuccess ? e : fail(e, "gemv launch failed");
  }
  const int64_t ldx = p.ldx == 0 ? p.k : p.ldx;
  const int64_t ldw = p.ldw == 0 ? p.k : p.ldw;
  const int64_t ldy = p.ldy == 0 ? p.n : p.ldy;
  int device = 0;
  VAMBA_CUDA_TRY(cudaGetDevice(&device));
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  VAMBA_CUDA_TRY(get_handle_and_workspace(device, stream, &handle, &workspace));

  // Rows split into equal pieces (at most two distinct piece shapes, so two cached plans) whose
  // x and y offsets stay below 2^31 elements.
  const int64_t widest = ldx > ldy ? ldx : ldy;
  const int64_t max_rows = kMaxElems / widest;
  const int64_t pieces = ceil_div(p.m, max_rows);
  const int64_t rows_per_piece = ceil_div(p.m, pieces);
  const int64_t y_elt = p.y_f32 ? 4 : 2;
  for (int64_t r0 = 0; r0 < p.m; r0 += rows_per_piece) {
    Piece piece;
    piece.m = p.m - r0 < rows_per_piece ? p.m - r0 : rows_per_piece;
    piece.x = static_cast<const char*>(p.x) + r0 * ldx * 2;
    piece.y = static_cast<char*>(p.y) + r0 * ldy * y_elt;
    VAMBA_CUDA_TRY(run_piece(handle, workspace, device, p, piece, ldx, ldw, ldy, stream));
  }
  return cudaSuccess;
}

const std::string& gemm_last_error() { return t_last_error; }

}  // namespace vamba::kernels
