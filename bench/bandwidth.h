// Streaming-read bandwidth of this machine, shared by the kernel benchmark
// (qnt_bench.cpp) and the whole-model benchmark (read_bandwidth.cpp, e2e.sh).
#ifndef QNT_BENCH_BANDWIDTH_H
#define QNT_BENCH_BANDWIDTH_H

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <immintrin.h>
#include <omp.h>

/// Seconds on a monotonic clock.
static double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

static volatile uint64_t gSink;

/// Reads [p, p + bytes) with the widest vector loads the build allows
/// (-march=native: 512-bit with AVX-512, else 256-bit) on the calling thread,
/// as `streams` interleaved sequential streams (the range cut into that many
/// equal parts, 256 bytes of each in turn): a core keeps more lines in flight
/// with several streams than with one (docs/PERFORMANCE.md, "Machines").
static uint64_t readBuffer(const char *p, size_t bytes, int streams = 1) {
  size_t part = bytes / streams / 256 * 256;
#ifdef __AVX512F__
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < part; i += 256)
    for (int s = 0; s < streams; ++s) {
      const char *q = p + s * part + i;
      a0 = _mm512_xor_si512(a0, _mm512_load_si512(q));
      a1 = _mm512_xor_si512(a1, _mm512_load_si512(q + 64));
      a2 = _mm512_xor_si512(a2, _mm512_load_si512(q + 128));
      a3 = _mm512_xor_si512(a3, _mm512_load_si512(q + 192));
    }
  __m512i a = _mm512_xor_si512(_mm512_xor_si512(a0, a1),
                               _mm512_xor_si512(a2, a3));
  return _mm512_reduce_add_epi64(a);
#else
  __m256i a[8];
  for (__m256i &v : a)
    v = _mm256_setzero_si256();
  for (size_t i = 0; i < part; i += 256)
    for (int s = 0; s < streams; ++s)
      for (int j = 0; j < 8; ++j)
        a[j] = _mm256_xor_si256(
            a[j], _mm256_load_si256(
                      reinterpret_cast<const __m256i *>(p + s * part + i + 32 * j)));
  for (int j = 1; j < 8; ++j)
    a[0] = _mm256_xor_si256(a[0], a[j]);
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i *>(lanes), a[0]);
  return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
#endif
}

/// readBuffer on `threads` threads, each on its contiguous share.
static uint64_t readParallel(const char *buf, size_t bytes, int threads,
                             int streams = 1) {
  uint64_t sum = 0;
#pragma omp parallel num_threads(threads) reduction(^ : sum)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    size_t per = bytes / nt / 256 * 256;
    sum ^= readBuffer(buf + t * per, per, streams);
  }
  return sum;
}

/// The machine's read bandwidth in GB/s (1e9 bytes/s) on `threads` threads:
/// the best of `reps` reads of the buffer for each number of streams per
/// thread (1, 2, 4, 8; `bestStreams` gets the winner), because which one a
/// core reads fastest with varies with the machine and the moment.
static double measureBandwidth(const char *buf, size_t bytes, int threads,
                               int reps, int &bestStreams) {
  double best = 0;
  for (int streams : {1, 2, 4, 8})
    for (int r = 0; r < reps; ++r) {
      double t0 = now();
      gSink = readParallel(buf, bytes, threads, streams);
      double gbs = bytes / (now() - t0) / 1e9;
      if (gbs > best) {
        best = gbs;
        bestStreams = streams;
      }
    }
  return best;
}

#endif // QNT_BENCH_BANDWIDTH_H
