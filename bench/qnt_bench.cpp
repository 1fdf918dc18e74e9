// Benchmark harness: compiled qnt matmul kernels vs OpenBLAS fp32 vs a naive
// dequantize-then-sgemm baseline, interleaved in one process (bench/run.sh).
//
// The kernels are linked in; `kernels.inc` (written by run.sh) lists them as
// QNT_KERNEL(name, N, K, bits, group, "format", "payload.bin", int8_activations), where payload.bin holds
// the same codes and scales as the kernel (bench/gen_layer.py), from which the
// naive fp32 baseline is built. Every configuration is first checked: the qnt
// output must match the baseline, or the configuration is not timed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <immintrin.h>
#include <malloc.h>
#include <omp.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <cblas.h>

#include "bandwidth.h"

extern "C" {
char *openblas_get_config(void);
char *openblas_get_corename(void);
void openblas_set_num_threads(int);
}

/// The C view of a 2-D memref, as llvm.emit_c_interface passes it.
struct MemRef2D {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
using KernelFn = void (*)(MemRef2D *result, MemRef2D *x);

// The C entry point of each kernel (kEntrySymbolPrefix of
// qnt/Abi/LibraryAbi.h; the prefix is spelled here because the preprocessor
// pastes it).
#define QNT_KERNEL(name, n, k, bits, group, format, bin, act8)                 \
  extern "C" void _mlir_ciface_##name(MemRef2D *, MemRef2D *);
#include "kernels.inc"
#undef QNT_KERNEL

struct KernelInfo {
  const char *name;
  int64_t n, k, bits, group;
  const char *format; // int, nf4 or fp8 (gen_layer.py --format)
  const char *bin;
  int64_t actBlock; // activations=i8: the x block the kernel uses; 0: f32 x
  KernelFn fn;
};
static const KernelInfo kKernels[] = {
#define QNT_KERNEL(name, n, k, bits, group, format, bin, act8)                 \
  {#name, n, k, bits, group, format, bin, act8, _mlir_ciface_##name},
#include "kernels.inc"
#undef QNT_KERNEL
};

/// x as activations=i8 kernels use it (docs/QUANTIZER.md): per row and block
/// of `block` codes, sx = max|x| / 127 and xq = roundeven(x * (127 / max|x|));
/// returns sx * xq.
static void quantizeActivations(const float *x, float *out, int64_t m,
                                int64_t k, int64_t block) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t b = 0; b + block <= k; b += block) {
      const float *v = x + r * k + b;
      float amax = 0;
      for (int i = 0; i < block; ++i)
        amax = std::max(amax, std::fabs(v[i]));
      float inv = amax > 0 ? 127.0f / amax : 0.0f, sx = amax / 127.0f;
      for (int i = 0; i < block; ++i) {
        float q = std::nearbyint(std::min(127.0f, std::max(-127.0f, v[i] * inv)));
        out[r * k + b + i] = sx * q;
      }
    }
}

using Clock = std::chrono::steady_clock;
static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
static void *alignedAlloc(size_t bytes) {
  void *p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  if (!p) {
    std::fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
    std::exit(2);
  }
  std::memset(p, 0, bytes); // fault the pages in now, not while timing
  return p;
}

//===----------------------------------------------------------------------===//
// Memory bandwidth and cache eviction
//===----------------------------------------------------------------------===//

/// Bytes of the streaming read timed in every round of a cold row (larger
/// than the last-level cache, short enough to repeat each round).
constexpr size_t kRowBandwidthBytes = size_t(256) << 20;

/// Runnable tasks other than this thread (from /proc/loadavg), sampled while
/// the benchmark's own workers sleep: other builds on the shared cores.
static int othersRunning() {
  FILE *f = std::fopen("/proc/loadavg", "r");
  if (!f)
    return 0;
  double a, b, c;
  int running = 1, total;
  if (std::fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total) != 5)
    running = 1;
  std::fclose(f);
  return std::max(0, running - 1);
}

/// Waits (up to `maxSeconds`) until no other task has been runnable for 0.5 s.
static void waitForQuiet(double maxSeconds) {
  double start = now(), quietSince = now();
  while (now() - start < maxSeconds) {
    if (othersRunning())
      quietSince = now();
    else if (now() - quietSince >= 0.5)
      return;
    usleep(20000);
  }
}

//===----------------------------------------------------------------------===//
// One layer: weights, the three implementations
//===----------------------------------------------------------------------===//

struct Layer {
  const KernelInfo *info;
  std::vector<float> values;   // the value of each code pattern [2^bits]
  std::vector<uint8_t> codes; // [N, K*bits/8]
  std::vector<float> scales;  // [N, groups]
  int64_t groups = 1;
  float *wf32 = nullptr;      // dequantized once, for the OpenBLAS baseline
  float *wnaive = nullptr;    // scratch the naive baseline rewrites every call
  // The kernel's bytes: the fp4 formats store 1-byte block scales (the
  // payload holds them decoded, as f32), the others f32 scales.
  int64_t weightBytes() const {
    bool byteScales = !std::strcmp(info->format, "mxfp4") ||
                      !std::strcmp(info->format, "nvfp4");
    return codes.size() + (byteScales ? 1 : 4) * scales.size();
  }
};

static bool loadLayer(const KernelInfo &info, Layer &layer) {
  std::ifstream f(info.bin, std::ios::binary);
  char magic[8];
  int64_t hdr[4];
  if (!f.read(magic, 8) || std::memcmp(magic, "QNTBENC2", 8) ||
      !f.read(reinterpret_cast<char *>(hdr), sizeof hdr)) {
    std::fprintf(stderr, "%s: not a gen_layer.py payload\n", info.bin);
    return false;
  }
  if (hdr[0] != info.n || hdr[1] != info.k || hdr[2] != info.bits ||
      hdr[3] != info.group) {
    std::fprintf(stderr, "%s does not describe kernel %s\n", info.bin,
                 info.name);
    return false;
  }
  layer.info = &info;
  layer.groups = info.group ? info.k / info.group : 1;
  layer.values.resize(size_t(1) << info.bits);
  f.read(reinterpret_cast<char *>(layer.values.data()),
         4 * layer.values.size());
  layer.codes.resize(info.n * (info.k * info.bits / 8));
  layer.scales.resize(info.n * layer.groups);
  f.read(reinterpret_cast<char *>(layer.codes.data()), layer.codes.size());
  f.read(reinterpret_cast<char *>(layer.scales.data()),
         4 * layer.scales.size());
  if (!f) {
    std::fprintf(stderr, "%s is truncated\n", info.bin);
    return false;
  }
  return true;
}

/// The naive unfused dequantization: W[n, k] = scale * value(code), all of
/// W, with the code patterns' values from the payload (any format).
static void dequantize(const Layer &l, float *w) {
  const int64_t n = l.info->n, k = l.info->k, bits = l.info->bits;
  const int64_t rowBytes = k * bits / 8, gsize = k / l.groups;
  const int64_t perByte = 8 / bits, mask = (1 << bits) - 1;
  const float *values = l.values.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t *c = l.codes.data() + r * rowBytes;
    const float *s = l.scales.data() + r * l.groups;
    float *out = w + r * k;
    for (int64_t i = 0; i < rowBytes; ++i)
      for (int64_t p = 0; p < perByte; ++p) {
        int64_t j = perByte * i + p;
        out[j] = s[j / gsize] * values[(c[i] >> (p * bits)) & mask];
      }
  }
}

/// y[M, N] = x[M, K] * W[N, K]^T with OpenBLAS (sgemv when M == 1).
static void blasMatmul(const float *w, const float *x, float *y, int64_t m,
                       int64_t n, int64_t k) {
  if (m == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w, k, x, 1, 0.0f, y,
                1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k,
                w, k, 0.0f, y, n);
}

/// Calls the qnt kernel; copies the result to `y` if given. The result
/// buffer is malloc'ed by the kernel and freed here, inside the timing.
static void qntMatmul(const Layer &l, float *x, int64_t m, float *y) {
  MemRef2D in{x, x, 0, {m, l.info->k}, {l.info->k, 1}};
  MemRef2D out{};
  l.info->fn(&out, &in);
  if (y)
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(y + r * l.info->n,
                  out.aligned + out.offset + r * out.strides[0],
                  4 * l.info->n);
  std::free(out.allocated);
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

struct Options {
  std::vector<int64_t> ms{1, 16, 128};
  std::vector<int> threads{1, 2};
  std::string filter;
  int rounds = 7;       // interleaved rounds per configuration
  int coldRounds = 11;  // interleaved cold calls per method (M = 1)
  double blockMs = 30;  // minimum length of one hot block
  size_t evictMiB = 512;
  bool keepBlasEnv = false;
  bool noNaive = false;
  double quietWait = 30; // seconds to wait for other processes to finish
  int retries = 2;       // re-measurements of a row disturbed by others
};

static std::vector<int64_t> parseList(const char *s) {
  std::vector<int64_t> v;
  for (const char *p = s; *p;) {
    v.push_back(std::strtoll(p, const_cast<char **>(&p), 10));
    if (*p == ',')
      ++p;
  }
  return v;
}

static void usage() {
  std::printf(
      "qnt_bench [--m 1,16,128] [--threads 1,2] [--filter SUBSTR] [--rounds "
      "N]\n          [--cold-rounds N] [--block-ms MS] [--evict-mib MIB] "
      "[--keep-openblas-env] [--no-naive]\n          [--quiet-wait S] [--retries N]\n"
      "Without --keep-openblas-env the program re-executes itself with "
      "OPENBLAS_CORETYPE\nand OPENBLAS_L2_SIZE unset, so OpenBLAS picks its "
      "kernel for this CPU itself.\n");
}

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--m")
      opt.ms = parseList(next());
    else if (a == "--threads") {
      opt.threads.clear();
      for (int64_t t : parseList(next()))
        opt.threads.push_back(int(t));
    } else if (a == "--filter")
      opt.filter = next();
    else if (a == "--rounds")
      opt.rounds = std::atoi(next());
    else if (a == "--cold-rounds")
      opt.coldRounds = std::atoi(next());
    else if (a == "--block-ms")
      opt.blockMs = std::atof(next());
    else if (a == "--evict-mib")
      opt.evictMiB = std::atoll(next());
    else if (a == "--keep-openblas-env")
      opt.keepBlasEnv = true;
    else if (a == "--retries")
      opt.retries = std::atoi(next());
    else if (a == "--quiet-wait")
      opt.quietWait = std::atof(next());
    else if (a == "--no-naive")
      opt.noNaive = true;
    else {
      usage();
      return a == "--help" ? 0 : 2;
    }
  }

  // OpenBLAS reads its environment when the library is loaded, before main:
  // drop the variables and start again.
  // Thread pools: waking a sleeping worker costs ~100 us on this VM, so
  // both libraries' workers spin a while after each call (libomp 30 ms,
  // OpenBLAS 2^26 TSC cycles = 32 ms at 2.1 GHz; read at load time) as in a
  // model that runs layer after layer; the driver sleeps 45 ms before
  // switching libraries so that one's spinning workers never steal the
  // cores from the other.
  bool blasEnvSet = getenv("OPENBLAS_CORETYPE") || getenv("OPENBLAS_L2_SIZE");
  if (!getenv("QNT_BENCH_REEXEC") &&
      ((!opt.keepBlasEnv && blasEnvSet) || !getenv("OPENBLAS_THREAD_TIMEOUT"))) {
    if (!opt.keepBlasEnv) {
      unsetenv("OPENBLAS_CORETYPE");
      unsetenv("OPENBLAS_L2_SIZE");
    }
    setenv("OPENBLAS_THREAD_TIMEOUT", "26", 0);
    setenv("KMP_BLOCKTIME", "30", 0);
    setenv("QNT_BENCH_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    std::perror("execv /proc/self/exe");
    return 2;
  }
  // Keep the kernels' result buffers (up to 5.6 MB) on the heap instead of
  // fresh mmap'ed (page-faulting) memory on every call.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  std::printf("OpenBLAS: core %s; config: %s\n", openblas_get_corename(),
              openblas_get_config());
  std::printf("Environment: OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s "
              "OPENBLAS_THREAD_TIMEOUT=%s KMP_BLOCKTIME=%s\n",
              getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)",
              getenv("OPENBLAS_L2_SIZE") ? getenv("OPENBLAS_L2_SIZE") : "(unset)",
              getenv("OPENBLAS_THREAD_TIMEOUT") ? getenv("OPENBLAS_THREAD_TIMEOUT") : "(unset)",
              getenv("KMP_BLOCKTIME"));

  // Bandwidth: read a 1 GiB buffer, far larger than any cache; the first
  // half also serves as the eviction buffer.
  size_t bwBytes = std::max<size_t>(size_t(1) << 30, opt.evictMiB << 20);
  char *bwBuf = static_cast<char *>(alignedAlloc(bwBytes));
  for (size_t i = 0; i < bwBytes; i += 4096)
    bwBuf[i] = char(i >> 12);
  waitForQuiet(opt.quietWait);
  int streams1 = 1, streams2 = 1;
  double bw1 = measureBandwidth(bwBuf, bwBytes, 1, 3, streams1);
  double bw2 = measureBandwidth(bwBuf, bwBytes, 2, 3, streams2);
  double bwMachine = std::max(bw1, bw2);
  std::printf("Memory read bandwidth (1 GiB buffer, best of 3 reads with 1, "
              "2, 4 and 8 streams per thread): 1 thread %.1f GB/s (%d "
              "streams), 2 threads %.1f GB/s (%d per thread); machine = %.1f "
              "GB/s\n",
              bw1, streams1, bw2, streams2, bwMachine);
  size_t evictBytes = opt.evictMiB << 20;
  auto evict = [&] { gSink = readBuffer(bwBuf, evictBytes); };

  std::vector<Layer> layers;
  for (const KernelInfo &info : kKernels) {
    if (!opt.filter.empty() &&
        std::string(info.name).find(opt.filter) == std::string::npos)
      continue;
    layers.emplace_back();
    if (!loadLayer(info, layers.back()))
      return 2;
  }
  int64_t maxM = *std::max_element(opt.ms.begin(), opt.ms.end());
  int64_t maxN = 0, maxK = 0, maxNK = 0;
  for (const Layer &l : layers) {
    maxN = std::max(maxN, l.info->n);
    maxK = std::max(maxK, l.info->k);
    maxNK = std::max(maxNK, l.info->n * l.info->k);
  }
  float *x = static_cast<float *>(alignedAlloc(4 * maxM * maxK));
  srand(1);
  for (int64_t i = 0; i < maxM * maxK; ++i)
    x[i] = float(2.0 * rand() / RAND_MAX - 1.0);
  float *yq = static_cast<float *>(alignedAlloc(4 * maxM * maxN));
  float *yb = static_cast<float *>(alignedAlloc(4 * maxM * maxN));
  float *yn = static_cast<float *>(alignedAlloc(4 * maxM * maxN));
  float *wnaive = static_cast<float *>(alignedAlloc(4 * maxNK));
  float *xq8 = static_cast<float *>(alignedAlloc(4 * maxM * maxK));
  float *wf32 = static_cast<float *>(alignedAlloc(4 * maxNK));
  float *wakeA = static_cast<float *>(alignedAlloc(4 * 256 * 256));
  float *wakeC = static_cast<float *>(alignedAlloc(4 * 256 * 256));

  std::printf("\nhot  = the same call repeated back to back (weights stay in "
              "cache where they fit);\ncold = %zu MiB read between calls to "
              "evict the caches (not timed), then the thread pools woken (not timed). Times are medians per call.\n",
              opt.evictMiB);
  std::printf("OpenBLAS = fp32 sgemv (M=1) / sgemm on the dequantized weight "
              "(made once); naive = dequantize all of W to fp32, then the "
              "same OpenBLAS call, every call.\n");
  std::printf("bw%% = (weight bytes incl. scales) / time / %.1f GB/s (bw%%b: "
              "OpenBLAS's fp32 weight bytes); bw%%qt = qnt's bytes / time / "
              "the read bandwidth of the row's thread count (cold rows: "
              "rowBW, the median GB/s of a 256 MiB read in the row's own "
              "rounds; hot rows: the above, %.1f or %.1f GB/s); rd%% (cold "
              "rows) = the time of a plain cold read of as many bytes on as "
              "many threads in the same rounds (the fastest median of 1, 2, "
              "4 streams per thread) / qnt's time. busy = share of rounds "
              "that started while another process was runnable (noisy "
              "row).\n\n",
              bwMachine, bw1, bw2);
  std::printf("%-12s %-9s %4s %3s %-4s %9s %9s %9s %8s %8s %7s %7s %6s %6s %6s %6s %6s %5s%s\n",
              "shape", "scheme", "M", "thr", "mode", "qnt_ms", "blas_ms",
              "naive_ms", "qnt_GF/s", "blas_GF/s", "blas/q", "naive/q",
              "bw%q", "bw%b", "bw%qt", "rd%", "rowBW", " busy", "  kernel");

  bool allOk = true;
  for (Layer &l : layers) {
    const int64_t n = l.info->n, k = l.info->k;
    dequantize(l, wf32);
    char shape[32], scheme[32];
    std::snprintf(shape, sizeof shape, "%ldx%ld", long(n), long(k));
    std::string element = std::strcmp(l.info->format, "int")
                              ? l.info->format
                              : "int" + std::to_string(l.info->bits);
    if (l.info->group)
      std::snprintf(scheme, sizeof scheme, "%s-g%ld", element.c_str(),
                    long(l.info->group));
    else
      std::snprintf(scheme, sizeof scheme, "%s-pc", element.c_str());
    for (int64_t m : opt.ms) {
      for (int threads : opt.threads) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
        auto runQnt = [&] { qntMatmul(l, x, m, nullptr); };
        auto runBlas = [&] { blasMatmul(wf32, x, yb, m, n, k); };
        auto runNaive = [&] {
          dequantize(l, wnaive);
          blasMatmul(wnaive, x, yn, m, n, k);
        };
        // Correctness guard: qnt against the fp32 baseline of the same codes
        // (for activations=i8 kernels, on x quantized as they quantize it).
        qntMatmul(l, x, m, yq);
        dequantize(l, wnaive);
        if (l.info->actBlock) {
          quantizeActivations(x, xq8, m, k, l.info->actBlock);
          blasMatmul(wnaive, xq8, yn, m, n, k);
        } else {
          blasMatmul(wnaive, x, yn, m, n, k);
        }
        double maxDiff = 0, maxRef = 0;
        for (int64_t i = 0; i < m * n; ++i) {
          maxDiff = std::max(maxDiff, double(std::fabs(yq[i] - yn[i])));
          maxRef = std::max(maxRef, double(std::fabs(yn[i])));
        }
        if (!(maxDiff <= 1e-4 * maxRef)) {
          std::printf("%-12s %-9s %4ld %3d  WRONG RESULT: max |qnt - fp32| = "
                      "%.3g, max |fp32| = %.3g; not timed\n",
                      shape, scheme, long(m), threads, maxDiff, maxRef);
          allOk = false;
          continue;
        }
        std::vector<std::function<void()>> fns{runQnt, runBlas};
        if (!opt.noNaive)
          fns.push_back(runNaive);
        // Wakes a method's worker threads without touching its weights.
        auto wakeOmp = [] {
#pragma omp parallel
          gSink = omp_get_thread_num();
        };
        auto wakeBlas = [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 256, 256, 256,
                      1.0f, wakeA, 256, wakeA, 256, 0.0f, wakeC, 256);
        };
        std::vector<std::function<void()>> wakes{
            wakeOmp, wakeBlas, [&] { wakeOmp(); wakeBlas(); }};
        std::vector<const char *> modes{"hot"};
        if (m == 1)
          modes.push_back("cold");
        for (const char *mode : modes) {
          bool cold = !std::strcmp(mode, "cold");
          std::vector<std::vector<double>> times(fns.size());
          // Estimate each call's time to size the hot blocks.
          std::vector<int> reps(fns.size(), 1);
          for (size_t f = 0; f < fns.size(); ++f) {
            fns[f]();
            double t0 = now();
            fns[f]();
            double t = now() - t0;
            reps[f] = cold ? 1 : std::max(3, int(std::ceil(opt.blockMs / 1e3 / t)));
          }
          int rounds = cold ? opt.coldRounds : opt.rounds;
          int busy = 0;
          std::vector<double> coldReads[3], rowBandwidth;
          // Other engineers' builds share the cores: a row measured while
          // another process was runnable is measured again (up to
          // --retries times) after waiting for quiet; the last try is kept.
          for (int attempt = 0; attempt <= opt.retries; ++attempt) {
            if (attempt && !busy)
              break;
            busy = 0;
            for (auto &t : times)
              t.clear();
            for (auto &t : coldReads)
              t.clear();
            rowBandwidth.clear();
            waitForQuiet(opt.quietWait);
            for (int r = 0; r < rounds; ++r) {
              // Rotate the order so no method always follows the same one.
              for (size_t j = 0; j < fns.size(); ++j) {
                size_t f = (j + r) % fns.size();
                if (threads > 1)
                  usleep(45000); // let the other pool's workers go to sleep
                busy += othersRunning() > 0;
                if (cold) {
                  // Evict, then wake the workers: the eviction (~30 ms) is as
                  // long as they spin before sleeping (KMP_BLOCKTIME=30), and
                  // a sleeping pool's wake-up would be timed with the call.
                  evict();
                  wakes[f]();
                  double t0 = now();
                  fns[f]();
                  times[f].push_back(now() - t0);
                } else {
                  fns[f](); // warm this method's data after the others ran
                  double t0 = now();
                  for (int i = 0; i < reps[f]; ++i)
                    fns[f]();
                  times[f].push_back((now() - t0) / reps[f]);
                }
              }
              if (cold) {
                // In the same rounds, what plain loads reach: a cold read of
                // the kernel's bytes (1, 2 or 4 streams per thread in turn)
                // and a streaming read of 256 MiB (the stream count that was
                // best at startup), on as many threads.
                int streams = 1 << (r % 3);
                evict();
                wakeOmp();
                double t0 = now();
                gSink = readParallel(reinterpret_cast<const char *>(wf32),
                                     l.weightBytes(), threads, streams);
                coldReads[r % 3].push_back(now() - t0);
                t0 = now();
                gSink = readParallel(bwBuf, kRowBandwidthBytes, threads,
                                     threads == 1 ? streams1 : streams2);
                rowBandwidth.push_back(kRowBandwidthBytes / (now() - t0) / 1e9);
              }
            }
          }
          if (getenv("QNT_BENCH_VERBOSE"))
            for (size_t f = 0; f < fns.size(); ++f) {
              std::printf("  samples[%zu] ms:", f);
              for (double t : times[f])
                std::printf(" %.3f", t * 1e3);
              std::printf("\n");
            }
          double tq = median(times[0]), tb = median(times[1]);
          double tn = opt.noNaive ? NAN : median(times[2]);
          double flop = 2.0 * m * n * k;
          // rd% = the fastest median cold read of the kernel's bytes / qnt's
          // time (how close the kernel comes to what loads alone reach on a
          // read this short); the row's bandwidth = median streaming read.
          double tRead = NAN, bwRow = threads == 1 ? bw1 : bw2;
          if (cold) {
            for (auto &reads : coldReads)
              if (!reads.empty())
                tRead = std::fmin(tRead, median(reads));
            bwRow = median(rowBandwidth);
            if (getenv("QNT_BENCH_VERBOSE"))
              std::printf("  rowBW median %.1f max %.1f GB/s\n", bwRow,
                          *std::max_element(rowBandwidth.begin(),
                                            rowBandwidth.end()));
          }
          std::printf("%-12s %-9s %4ld %3d %-4s %9.3f %9.3f %9.3f %8.1f "
                      "%8.1f %7.2f %7.2f",
                      shape, scheme, long(m), threads, mode, tq * 1e3,
                      tb * 1e3, tn * 1e3, flop / tq / 1e9, flop / tb / 1e9,
                      tb / tq, tn / tq);
          if (m == 1)
            std::printf(" %5.0f%% %5.0f%% %5.0f%%",
                        100.0 * l.weightBytes() / tq / 1e9 / bwMachine,
                        100.0 * 4.0 * n * k / tb / 1e9 / bwMachine,
                        100.0 * l.weightBytes() / tq / 1e9 / bwRow);
          else
            std::printf(" %6s %6s %6s", "", "", "");
          if (cold)
            std::printf(" %5.0f%% %6.1f", 100.0 * tRead / tq, bwRow);
          else
            std::printf(" %6s %6s", "", "");
          std::printf(" %4.0f%%  %s\n", 100.0 * busy / (rounds * fns.size()), l.info->name);
          std::fflush(stdout);
        }
      }
    }
  }
  return allOk ? 0 : 1;
}
