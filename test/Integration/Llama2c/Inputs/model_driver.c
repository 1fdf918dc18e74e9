// Calls a model library through the header quant-compile wrote and checks
// what its ABI promises (docs/COMPILING.md, "The library's ABI"):
//   prefill  - a prompt in one call gives the logits and caches of feeding
//              its tokens one by one with forward (1, 7, and N-token
//              prompts, and a prompt continued at a later position);
//   live     - cache rows past the position are never read: the caches
//              start as NaN, which would reach the logits;
//   threads  - 1, 2 and 3 threads give the same greedy tokens and logits;
//   no-alloc - decoding steps and a prefill call allocate nothing on the
//              heap (malloc, calloc, realloc and aligned allocations are
//              counted by the wrappers below, which the library's calls
//              resolve to).
// Usage: model_driver PROMPT_TOKENS (the longest prompt; <= context - 24).
// Built with -DCACHE_F16 for a library whose caches are half floats
// (--kv-cache=f16, the default with quantized weights): uint16_t buffers
// [layers, context, kv heads, head size], else f32 [layers, context, kv dim].
#include "model.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Heap calls counted, then passed on to glibc's own functions.
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static atomic_long allocations;
void *malloc(size_t n) { ++allocations; return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { ++allocations; return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { ++allocations; return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { ++allocations; return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n) {
  ++allocations;
  *p = __libc_memalign(a, n);
  return *p ? 0 : 12;
}
void free(void *p) { __libc_free(p); }

#ifdef CACHE_F16
typedef _Float16 CacheElem;
typedef qnt_memref_uint16_t_4d CacheRef;
#else
typedef float CacheElem;
typedef qnt_memref_float_3d CacheRef;
#endif

typedef struct {
  CacheElem *k, *v;
  float *logits;
  CacheRef kd, vd;
  qnt_memref_float_1d ld;
  long cacheFloats;
} Model;

static long layers, context, kvHeads, headSize, kvDim, vocab;

static CacheRef cacheRef(CacheElem *data) {
#ifdef CACHE_F16
  CacheRef r = {(uint16_t *)data, (uint16_t *)data, 0,
                {layers, context, kvHeads, headSize},
                {context * kvDim, kvDim, headSize, 1}};
#else
  CacheRef r = {data, data, 0, {layers, context, kvDim},
                {context * kvDim, kvDim, 1}};
#endif
  return r;
}

static void setup(Model *m) {
  m->cacheFloats = layers * context * kvDim;
  m->k = __libc_malloc(m->cacheFloats * sizeof(CacheElem));
  m->v = __libc_malloc(m->cacheFloats * sizeof(CacheElem));
  m->logits = __libc_malloc(vocab * sizeof(float));
  qnt_memref_float_1d l = {m->logits, m->logits, 0, {vocab}, {1}};
  m->kd = cacheRef(m->k);
  m->vd = cacheRef(m->v);
  m->ld = l;
}

// A new sequence: every cache entry NaN, so that reading a row that was
// not written poisons the logits.
static void reset(Model *m) {
  for (long i = 0; i < m->cacheFloats; ++i)
    m->k[i] = m->v[i] = (CacheElem)NAN;
}

static void prefill(Model *m, const int32_t *tokens, long n, int32_t pos) {
  qnt_memref_int32_t_1d t = {(int32_t *)tokens, (int32_t *)tokens, 0, {n}, {1}};
  _mlir_ciface_prefill(&t, pos, &m->kd, &m->vd, &m->ld);
}

static void step(Model *m, int32_t token, int32_t pos) {
  _mlir_ciface_forward(token, pos, &m->kd, &m->vd, &m->ld);
}

static int argmax(const float *x) {
  int best = 0;
  for (int i = 1; i < vocab; ++i)
    if (x[i] > x[best])
      best = i;
  return best;
}

// max |a - b| over n values relative to max |b|; NaN anywhere is infinite.
#define REL_DIFF(name, T)                                                     \
  static double name(const T *a, const T *b, long n) {                        \
    double worst = 0, scale = 0;                                              \
    for (long i = 0; i < n; ++i) {                                            \
      double x = a[i], y = b[i];                                              \
      if (isnan(x) || isnan(y))                                               \
        return INFINITY;                                                      \
      worst = fmax(worst, fabs(x - y));                                       \
      scale = fmax(scale, fabs(y));                                           \
    }                                                                         \
    return scale > 0 ? worst / scale : worst;                                 \
  }
REL_DIFF(relDiff, float)
#ifdef CACHE_F16
REL_DIFF(relDiffCache, CacheElem)
#else
#define relDiffCache relDiff
#endif

// Compares the first `rows` positions of every layer of two caches.
static double cacheDiff(const Model *a, const Model *b, long rows) {
  double worst = 0;
  for (long l = 0; l < layers; ++l) {
    long at = l * context * kvDim;
    worst = fmax(worst, relDiffCache(a->k + at, b->k + at, rows * kvDim));
    worst = fmax(worst, relDiffCache(a->v + at, b->v + at, rows * kvDim));
  }
  return worst;
}

int main(int argc, char **argv) {
  long longest = argc > 1 ? atol(argv[1]) : 7;
  Model a, b;
  // The shapes, from the library's signature string.
  extern const char qnt_signature_forward[];
#ifdef CACHE_F16
  int shapes = sscanf(strstr(qnt_signature_forward, "memref<"),
                      "memref<%ldx%ldx%ldx%ldxf16>", &layers, &context,
                      &kvHeads, &headSize) == 4;
  kvDim = kvHeads * headSize;
#else
  int shapes = sscanf(strstr(qnt_signature_forward, "memref<"),
                      "memref<%ldx%ldx%ldxf32>", &layers, &context,
                      &kvDim) == 3;
#endif
  if (!shapes ||
      sscanf(strrchr(qnt_signature_forward, '<'), "<%ldxf32>", &vocab) != 1) {
    printf("FAIL: cannot read the shapes of %s\n", qnt_signature_forward);
    return 1;
  }
  if (longest + 24 > context) {
    printf("FAIL: a prompt of %ld tokens needs a context of %ld\n", longest,
           longest + 24);
    return 1;
  }
  setup(&a);
  setup(&b);
  int32_t *tokens = __libc_malloc(context * sizeof(int32_t));
  for (long i = 0; i < context; ++i)
    tokens[i] = (int32_t)((i * 7 + 3) % vocab);
  const double tolerance = 1e-4;
  // Prefill and decoding sum in different orders, so a value an f16 cache
  // rounds may land one half-float step apart: at most 2^-10 of the
  // layer's largest value.
#ifdef CACHE_F16
  const double cacheTolerance = 1.0 / 1024;
#else
  const double cacheTolerance = tolerance;
#endif
  int failed = 0;

  // prefill == forward, token by token.
  long lengths[] = {1, 7, longest};
  for (int c = 0; c < 3; ++c) {
    long n = lengths[c];
    reset(&a);
    reset(&b);
    prefill(&a, tokens, n, 0);
    for (long i = 0; i < n; ++i)
      step(&b, tokens[i], (int32_t)i);
    double dl = relDiff(a.logits, b.logits, vocab);
    double dc = cacheDiff(&a, &b, n);
    int ok = dl <= tolerance && dc <= cacheTolerance;
    failed |= !ok;
    printf("%s prefill of %ld tokens: logits %.2g, caches %.2g of the largest\n",
           ok ? "PASS" : "FAIL", n, dl, dc);
  }
  // A prompt continued at a later position.
  reset(&a);
  reset(&b);
  prefill(&a, tokens, 5, 0);
  prefill(&a, tokens + 5, 9, 5);
  for (long i = 0; i < 14; ++i)
    step(&b, tokens[i], (int32_t)i);
  {
    double dl = relDiff(a.logits, b.logits, vocab);
    int ok = dl <= tolerance && cacheDiff(&a, &b, 14) <= cacheTolerance;
    failed |= !ok;
    printf("%s prefill of 5 then 9 tokens at position 5: logits %.2g\n",
           ok ? "PASS" : "FAIL", dl);
  }

  // Threads: the same greedy continuation of a 7-token prompt.
  int reference[20];
  float *referenceLogits = __libc_malloc(vocab * sizeof(float));
  for (int threads = 1; threads <= 3; ++threads) {
    qnt_set_threads(threads);
    reset(&a);
    prefill(&a, tokens, 7, 0);
    int same = 1;
    for (int s = 0; s < 20; ++s) {
      int next = argmax(a.logits);
      if (threads == 1)
        reference[s] = next;
      same &= next == reference[s];
      step(&a, next, 7 + s);
    }
    double dl = 0;
    if (threads == 1)
      memcpy(referenceLogits, a.logits, vocab * sizeof(float));
    else
      dl = relDiff(a.logits, referenceLogits, vocab);
    int ok = same && dl <= tolerance;
    failed |= !ok;
    printf("%s %d threads: 20 greedy tokens %s, logits %.2g\n",
           ok ? "PASS" : "FAIL", threads, same ? "equal" : "differ", dl);
  }

  // No heap allocation in decoding steps or a prefill call (after one call
  // of each, which may start the thread pool).
  qnt_set_threads(2);
  reset(&a);
  prefill(&a, tokens, longest, 0);
  step(&a, 1, (int32_t)longest);
  long before = atomic_load(&allocations);
  for (int s = 1; s <= 16; ++s)
    step(&a, argmax(a.logits), (int32_t)(longest + s));
  long afterSteps = atomic_load(&allocations);
  reset(&a);
  prefill(&a, tokens, longest, 0);
  long afterPrefill = atomic_load(&allocations);
  int ok = afterSteps == before && afterPrefill == afterSteps;
  failed |= !ok;
  printf("%s heap allocations: %ld in 16 decoding steps, %ld in a prefill of "
         "%ld tokens\n",
         ok ? "PASS" : "FAIL", afterSteps - before, afterPrefill - afterSteps,
         longest);
  return failed;
}
