// The fiber scheduler and the emulated collectives behind emu.h, plus the few CUDA runtime calls
// the kernels' launchers make (memory is host memory here).
#include "tests/kernels_cuda/emu/emu.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace emu {
namespace {

// Fiber contexts. On x86-64 a switch saves the callee-saved registers on the fiber's own stack and
// swaps stack pointers (a few nanoseconds; ucontext's swapcontext makes a system call per switch).
#if defined(__x86_64__)
extern "C" void emu_ctx_switch(void** save_sp, void* new_sp);
asm(R"(
.pushsection .text
.globl emu_ctx_switch
.type emu_ctx_switch,@function
emu_ctx_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size emu_ctx_switch, .-emu_ctx_switch
.popsection
)");

struct Context {
  void* sp = nullptr;
};

// A fresh context that starts in entry() (which never returns) on [stack, stack + bytes).
void make_context(Context* c, char* stack, size_t bytes, void (*entry)()) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t{15};
  void** sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;                              // entry's return address slot (never used)
  *--sp = reinterpret_cast<void*>(entry);       // popped by `ret`
  for (int i = 0; i < 6; ++i) *--sp = nullptr;  // rbp, rbx, r12–r15
  c->sp = sp;
}
void switch_context(Context* from, Context* to) { emu_ctx_switch(&from->sp, to->sp); }
#else
struct Context {
  ucontext_t uc;
};
void make_context(Context* c, char* stack, size_t bytes, void (*entry)()) {
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = stack;
  c->uc.uc_stack.ss_size = bytes;
  c->uc.uc_link = nullptr;
  makecontext(&c->uc, entry, 0);
}
void switch_context(Context* from, Context* to) { swapcontext(&from->uc, &to->uc); }
#endif

enum class State { kRunnable, kWaitWarp, kWaitBlock, kDone };
enum class OpKind { kShflXor, kShflUp, kMma, kLdsm, kLdsmT, kSyncWarp };

struct WarpOp {
  OpKind kind;
  float fin = 0, fout = 0;
  int iarg = 0;
  uint32_t a[4] = {}, b[2] = {};
  float c[4] = {};
  const void* addr = nullptr;
  uint32_t r[4] = {};
};

struct Copy {
  void* dst;
  const void* src;
  bool valid;
};

struct Fiber {
  Context ctx;
  std::unique_ptr<char[]> stack;
  State state = State::kDone;
  ThreadState ts;
  WarpOp* op = nullptr;
  size_t shared_calls = 0;
  std::vector<Copy> pending;
  std::vector<std::vector<Copy>> groups;
};

constexpr size_t kStackBytes = 512 * 1024;

struct Scheduler {
  std::vector<Fiber> fibers;
  Context main_ctx;
  Fiber* cur = nullptr;
  const std::function<void()>* body = nullptr;
  std::vector<unsigned char> dyn;
  size_t dyn_bytes = 0;
  std::vector<std::pair<size_t, std::unique_ptr<unsigned char[]>>> shared;
  uint64_t collectives = 0;
};

Scheduler& sched() {
  static Scheduler s;
  return s;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "emu: %s\n", what);
  std::abort();
}

void trampoline() {
  Scheduler& s = sched();
  (*s.body)();
  s.cur->state = State::kDone;
  s.cur->pending.clear();
  s.cur->groups.clear();
  switch_context(&s.cur->ctx, &s.main_ctx);
  fail("a finished fiber was resumed");
}

void yield_to_scheduler() {
  Scheduler& s = sched();
  switch_context(&s.cur->ctx, &s.main_ctx);
}

float bf16_lo(uint32_t v) {
  return __bfloat162float(__ushort_as_bfloat16(static_cast<unsigned short>(v & 0xffffu)));
}
float bf16_hi(uint32_t v) {
  return __bfloat162float(__ushort_as_bfloat16(static_cast<unsigned short>(v >> 16)));
}

uint16_t load_u16(const void* p, int elem) {
  uint16_t v;
  std::memcpy(&v, static_cast<const unsigned char*>(p) + 2 * elem, 2);
  return v;
}

void run_warp_op(std::vector<Fiber*>& lanes) {
  Scheduler& s = sched();
  ++s.collectives;
  if (lanes.size() != 32) fail("warp collective with fewer than 32 live lanes");
  const OpKind kind = lanes[0]->op->kind;
  for (Fiber* f : lanes) {
    if (f->op->kind != kind) fail("lanes of one warp reached different collectives");
  }
  WarpOp* op[32];
  for (int l = 0; l < 32; ++l) op[l] = lanes[l]->op;
  switch (kind) {
    case OpKind::kSyncWarp:  // the barrier itself is the point: every lane has arrived
      break;
    case OpKind::kShflXor:
      for (int l = 0; l < 32; ++l) {
        if (op[l]->iarg != op[0]->iarg) fail("shfl_xor with different lane masks");
        op[l]->fout = op[l ^ op[l]->iarg]->fin;
      }
      break;
    case OpKind::kShflUp:
      for (int l = 0; l < 32; ++l) {
        const int d = op[l]->iarg;
        op[l]->fout = l >= d ? op[l - d]->fin : op[l]->fin;
      }
      break;
    case OpKind::kMma: {
      float A[16][16], B[16][8], C[16][8];
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        const uint32_t* a = op[l]->a;
        A[g][2 * t] = bf16_lo(a[0]);
        A[g][2 * t + 1] = bf16_hi(a[0]);
        A[g + 8][2 * t] = bf16_lo(a[1]);
        A[g + 8][2 * t + 1] = bf16_hi(a[1]);
        A[g][2 * t + 8] = bf16_lo(a[2]);
        A[g][2 * t + 9] = bf16_hi(a[2]);
        A[g + 8][2 * t + 8] = bf16_lo(a[3]);
        A[g + 8][2 * t + 9] = bf16_hi(a[3]);
        const uint32_t* b = op[l]->b;
        B[2 * t][g] = bf16_lo(b[0]);
        B[2 * t + 1][g] = bf16_hi(b[0]);
        B[2 * t + 8][g] = bf16_lo(b[1]);
        B[2 * t + 9][g] = bf16_hi(b[1]);
        const float* c = op[l]->c;
        C[g][2 * t] = c[0];
        C[g][2 * t + 1] = c[1];
        C[g + 8][2 * t] = c[2];
        C[g + 8][2 * t + 1] = c[3];
      }
      float D[16][8];
      for (int i = 0; i < 16; ++i) {
        for (int j = 0; j < 8; ++j) {
          float acc = C[i][j];
          for (int k = 0; k < 16; ++k) acc += A[i][k] * B[k][j];
          D[i][j] = acc;
        }
      }
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        op[l]->c[0] = D[g][2 * t];
        op[l]->c[1] = D[g][2 * t + 1];
        op[l]->c[2] = D[g + 8][2 * t];
        op[l]->c[3] = D[g + 8][2 * t + 1];
      }
      break;
    }
    case OpKind::kLdsm:
    case OpKind::kLdsmT:
      for (int l = 0; l < 32; ++l) {
        if (reinterpret_cast<uintptr_t>(op[l]->addr) % 16 != 0)
          fail("ldmatrix row not 16-byte aligned");
      }
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        for (int j = 0; j < 4; ++j) {
          uint16_t lo, hi;
          if (kind == OpKind::kLdsm) {  // row g, columns 2t, 2t+1 of matrix j
            lo = load_u16(op[j * 8 + g]->addr, 2 * t);
            hi = load_u16(op[j * 8 + g]->addr, 2 * t + 1);
          } else {  // rows 2t, 2t+1, column g of matrix j
            lo = load_u16(op[j * 8 + 2 * t]->addr, g);
            hi = load_u16(op[j * 8 + 2 * t + 1]->addr, g);
          }
          op[l]->r[j] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
        }
      }
      break;
  }
}

void warp_collective(WarpOp* op) {
  Scheduler& s = sched();
  s.cur->op = op;
  s.cur->state = State::kWaitWarp;
  yield_to_scheduler();
}

void complete_groups(Fiber* f, size_t keep) {
  while (f->groups.size() > keep) {
    for (const Copy& c : f->groups.front()) {
      if (c.valid) {
        std::memcpy(c.dst, c.src, 16);
      } else {
        std::memset(c.dst, 0, 16);
      }
    }
    f->groups.erase(f->groups.begin());
  }
}

void run_block(dim3 block_idx, dim3 grid, dim3 block) {
  Scheduler& s = sched();
  const int n = static_cast<int>(block.x * block.y * block.z);
  if (static_cast<int>(s.fibers.size()) < n) s.fibers.resize(n);
  std::fill(s.dyn.begin(), s.dyn.end(), 0xff);  // NaN in bf16 and fp32
  s.shared.clear();
  for (int i = 0; i < n; ++i) {
    Fiber& f = s.fibers[i];
    if (!f.stack) f.stack.reset(new char[kStackBytes]);
    make_context(&f.ctx, f.stack.get(), kStackBytes, trampoline);
    f.state = State::kRunnable;
    f.shared_calls = 0;
    f.pending.clear();
    f.groups.clear();
    f.ts.thread_idx = make_uint3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
    f.ts.block_idx = make_uint3(block_idx.x, block_idx.y, block_idx.z);
    f.ts.block_dim = block;
    f.ts.grid_dim = grid;
  }
  for (;;) {
    for (int i = 0; i < n; ++i) {
      Fiber& f = s.fibers[i];
      if (f.state != State::kRunnable) continue;
      s.cur = &f;
      switch_context(&s.main_ctx, &f.ctx);
    }
    s.cur = nullptr;
    bool all_done = true, released = false;
    for (int i = 0; i < n; ++i) all_done = all_done && s.fibers[i].state == State::kDone;
    if (all_done) break;
    for (int w = 0; w * 32 < n; ++w) {
      std::vector<Fiber*> live;
      bool all_wait = true;
      for (int l = 0; l < 32 && w * 32 + l < n; ++l) {
        Fiber& f = s.fibers[w * 32 + l];
        if (f.state == State::kDone) continue;
        live.push_back(&f);
        all_wait = all_wait && f.state == State::kWaitWarp;
      }
      if (!live.empty() && all_wait) {
        run_warp_op(live);
        for (Fiber* f : live) f->state = State::kRunnable;
        released = true;
      }
    }
    if (!released) {
      bool all_block = true;
      for (int i = 0; i < n; ++i) {
        const State st = s.fibers[i].state;
        all_block = all_block && (st == State::kDone || st == State::kWaitBlock);
      }
      if (all_block) {
        for (int i = 0; i < n; ++i) {
          if (s.fibers[i].state == State::kWaitBlock) s.fibers[i].state = State::kRunnable;
        }
        released = true;
      }
    }
    if (!released) fail("deadlock: threads wait at different barriers (divergent __syncthreads?)");
  }
}

}  // namespace

ThreadState& current() {
  Scheduler& s = sched();
  if (s.cur == nullptr) fail("CUDA built-in read outside a kernel");
  return s.cur->ts;
}

void launch(const std::function<void()>& f, dim3 grid, dim3 block, size_t dyn_smem) {
  Scheduler& s = sched();
  s.body = &f;
  s.dyn.assign(dyn_smem, 0xff);
  s.dyn_bytes = dyn_smem;
  for (unsigned z = 0; z < grid.z; ++z) {
    for (unsigned y = 0; y < grid.y; ++y) {
      for (unsigned x = 0; x < grid.x; ++x) run_block(dim3(x, y, z), grid, block);
    }
  }
  s.body = nullptr;
}

unsigned char* dyn_smem() { return sched().dyn.data(); }

void* shared_alloc_bytes(size_t bytes) {
  Scheduler& s = sched();
  const size_t k = s.cur->shared_calls++;
  if (k < s.shared.size()) {
    if (s.shared[k].first != bytes) fail("threads declared different __shared__ arrays");
    return s.shared[k].second.get();
  }
  if (k != s.shared.size()) fail("__shared__ declaration order differs between threads");
  std::unique_ptr<unsigned char[]> buf(new (std::align_val_t(16)) unsigned char[bytes]);
  std::memset(buf.get(), 0xff, bytes);
  s.shared.emplace_back(bytes, std::move(buf));
  return s.shared.back().second.get();
}

void syncthreads() {
  Scheduler& s = sched();
  s.cur->state = State::kWaitBlock;
  yield_to_scheduler();
}

void syncwarp() {
  WarpOp op{OpKind::kSyncWarp};
  warp_collective(&op);
}

float shfl_xor(float v, int lane_mask) {
  WarpOp op{OpKind::kShflXor};
  op.fin = v;
  op.iarg = lane_mask;
  warp_collective(&op);
  return op.fout;
}

float shfl_up(float v, int delta) {
  WarpOp op{OpKind::kShflUp};
  op.fin = v;
  op.iarg = delta;
  warp_collective(&op);
  return op.fout;
}

void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  WarpOp op{OpKind::kMma};
  std::memcpy(op.a, a, sizeof(op.a));
  std::memcpy(op.b, b, sizeof(op.b));
  std::memcpy(op.c, d, sizeof(op.c));
  warp_collective(&op);
  std::memcpy(d, op.c, sizeof(op.c));
}

void ldmatrix_x4(uint32_t (&r)[4], const void* row_addr, bool trans) {
  WarpOp op{trans ? OpKind::kLdsmT : OpKind::kLdsm};
  op.addr = row_addr;
  warp_collective(&op);
  std::memcpy(r, op.r, sizeof(op.r));
}

void cp_async(void* dst, const void* src, bool valid) {
  if (reinterpret_cast<uintptr_t>(dst) % 16 != 0) fail("cp.async destination not 16-byte aligned");
  if (valid && reinterpret_cast<uintptr_t>(src) % 16 != 0)
    fail("cp.async source not 16-byte aligned");
  sched().cur->pending.push_back({dst, src, valid});
}

void cp_async_commit() {
  Fiber* f = sched().cur;
  f->groups.push_back(std::move(f->pending));
  f->pending.clear();
}

void cp_async_wait(int pending) { complete_groups(sched().cur, static_cast<size_t>(pending)); }

uint64_t collectives() { return sched().collectives; }

}  // namespace emu

// The CUDA runtime calls the launchers make.
extern "C" {

cudaError_t cudaGetLastError() { return cudaSuccess; }

cudaError_t cudaFuncSetAttribute(const void*, enum cudaFuncAttribute, int) { return cudaSuccess; }

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int) {
  *value = attr == cudaDevAttrMultiProcessorCount ? 132 : 0;
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, enum cudaMemcpyKind,
                            cudaStream_t) {
  std::memmove(dst, src, n);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t n, cudaStream_t) {
  std::memset(dst, value, n);
  return cudaSuccess;
}

}  // extern "C"

extern "C" const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "emulated CUDA error";
}
