// ggml's quantized matmul Y = W X at M rows of x, timed hot, the peer of
// qnt_bench's kernels at the same shapes (bench/peers/ggml_gemm.sh builds
// it against the ggml that bench/peers/llama_cpp_peer.py built).
//
// The weight goes into the CPU backend's extra buffer type when it has one
// ("CPU_REPACK": q4_0 rows repacked 8 at a time for its AVX2/AVX-512 GEMM),
// as llama.cpp loads a model; x is f32 and ggml quantizes it to q8_0 inside
// the op, as qnt's int8 activations are quantized inside the kernel.
//
// Usage: ggml_gemm N K M THREADS [q4_0|q8_0] [ROUNDS]
// Prints one line: the buffer type, the median and best ms of ROUNDS timed
// calls (after 3 untimed ones), and GFLOP/s (2 N K M / median).
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double nowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int byValue(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// Uniform in [-1, 1), reproducible.
static float nextRandom(unsigned long long *state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((*state >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s N K M THREADS [q4_0|q8_0] [ROUNDS]\n", argv[0]);
    return 2;
  }
  long n = atol(argv[1]), k = atol(argv[2]), m = atol(argv[3]);
  int threads = atoi(argv[4]);
  const char *typeName = argc > 5 ? argv[5] : "q4_0";
  int rounds = argc > 6 ? atoi(argv[6]) : 15;
  enum ggml_type type = strcmp(typeName, "q8_0") == 0 ? GGML_TYPE_Q8_0
                                                      : GGML_TYPE_Q4_0;
  if (n <= 0 || k <= 0 || k % 32 || m <= 0 || threads <= 0 || rounds <= 0) {
    fprintf(stderr, "ggml_gemm: N, M, THREADS, ROUNDS > 0 and K a multiple "
                    "of 32\n");
    return 2;
  }

  ggml_backend_t backend = ggml_backend_cpu_init();
  ggml_backend_cpu_set_n_threads(backend, threads);
  ggml_backend_dev_t dev = ggml_backend_get_device(backend);
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
  ggml_backend_buffer_type_t weightType =
      ggml_backend_get_default_buffer_type(backend);
  ggml_backend_dev_get_extra_bufts_t extraTypes =
      (ggml_backend_dev_get_extra_bufts_t)ggml_backend_reg_get_proc_address(
          reg, "ggml_backend_dev_get_extra_bufts");
  if (extraTypes)
    for (ggml_backend_buffer_type_t *t = extraTypes(dev); t && *t; ++t)
      if (strstr(ggml_backend_buft_name(*t), "REPACK"))
        weightType = *t;

  // The weight: N rows of K, quantized from uniform values.
  struct ggml_init_params wp = {ggml_tensor_overhead() * 2, NULL, true};
  struct ggml_context *wctx = ggml_init(wp);
  struct ggml_tensor *w = ggml_new_tensor_2d(wctx, type, k, n);
  ggml_backend_buffer_t wbuf =
      ggml_backend_alloc_ctx_tensors_from_buft(wctx, weightType);
  unsigned long long seed = 1;
  float *wf = malloc(sizeof(float) * n * k);
  for (long i = 0; i < n * k; ++i)
    wf[i] = nextRandom(&seed);
  size_t wbytes = ggml_row_size(type, k) * n;
  void *wq = malloc(wbytes);
  ggml_quantize_chunk(type, wf, wq, 0, n, k, NULL);
  ggml_backend_tensor_set(w, wq, 0, wbytes);

  // x [M, K] and the product.
  struct ggml_init_params cp = {
      ggml_tensor_overhead() * 8 + ggml_graph_overhead(), NULL, true};
  struct ggml_context *cctx = ggml_init(cp);
  struct ggml_tensor *x = ggml_new_tensor_2d(cctx, GGML_TYPE_F32, k, m);
  struct ggml_tensor *y = ggml_mul_mat(cctx, w, x);
  struct ggml_cgraph *graph = ggml_new_graph(cctx);
  ggml_build_forward_expand(graph, y);
  ggml_backend_buffer_t cbuf = ggml_backend_alloc_ctx_tensors(cctx, backend);
  float *xf = malloc(sizeof(float) * m * k);
  for (long i = 0; i < m * k; ++i)
    xf[i] = nextRandom(&seed);
  ggml_backend_tensor_set(x, xf, 0, sizeof(float) * m * k);

  // A check that the product is the product: the first row of y against the
  // dequantized weight times x in double. What is left is x's rounding to
  // q8_0 (about 0.4% of each term), far below the 5% of a dot's typical
  // size, sqrt(K / 9), allowed here.
  ggml_backend_graph_compute(backend, graph);
  float *y0 = malloc(sizeof(float) * n);
  ggml_backend_tensor_get(y, y0, 0, sizeof(float) * n);
  float *row = malloc(sizeof(float) * k);
  double worst = 0;
  for (long j = 0; j < n; ++j) {
    ggml_get_type_traits(type)->to_float(
        (const char *)wq + j * ggml_row_size(type, k), row, k);
    double ref = 0;
    for (long i = 0; i < k; ++i)
      ref += (double)row[i] * xf[i];
    double d = ref - y0[j];
    worst = d * d > worst ? d * d : worst;
  }
  double typical = k / 9.0; // the variance of a dot of K uniform products
  if (worst > 0.0025 * typical) {
    printf("WRONG: row 0 differs from the dequantized product by %.3g (rms "
           "of a dot: %.3g)\n",
           __builtin_sqrt(worst), __builtin_sqrt(typical));
    return 1;
  }

  for (int i = 0; i < 2; ++i)
    ggml_backend_graph_compute(backend, graph);
  double *ms = malloc(sizeof(double) * rounds);
  for (int r = 0; r < rounds; ++r) {
    double t0 = nowMs();
    ggml_backend_graph_compute(backend, graph);
    ms[r] = nowMs() - t0;
  }
  qsort(ms, rounds, sizeof(double), byValue);
  double median = ms[rounds / 2];
  printf("peer=ggml type=%s buffer=%s N=%ld K=%ld M=%ld threads=%d "
         "median_ms=%.4f min_ms=%.4f gflops=%.1f\n",
         typeName, ggml_backend_buft_name(weightType), n, k, m, threads,
         median, ms[0], 2.0 * n * k * m / median * 1e-6);
  ggml_backend_buffer_free(cbuf);
  ggml_backend_buffer_free(wbuf);
  ggml_free(cctx);
  ggml_free(wctx);
  ggml_backend_free(backend);
  return 0;
}
