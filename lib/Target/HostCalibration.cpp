// quant-compile --calibrate-target: measures the parameters of the host's
// cost model (docs/COST_MODEL.md) on one thread. Bandwidth and FMA peak come
// from small loops here; everything about the qnt kernels comes from timing
// kernels that this compiler generates, through the same pipeline and code
// generator as quant-compile, loaded from a shared library.
#include "qnt/Target/HostCalibration.h"
#include "qnt/Abi/LibraryAbi.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "qnt/CostModel/CostModel.h"
#include "qnt/Pipelines/Pipelines.h"
#include "qnt/Support/OutputFile.h"
#include "qnt/Target/HostCodegen.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <fstream>
#include <functional>
#include <random>
#include <unistd.h>
#include <vector>

using namespace mlir;
using namespace mlir::qnt;

namespace {

using Clock = std::chrono::steady_clock;

double now() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

/// Other tasks that are runnable now (from /proc/loadavg, less this one).
int othersRunning() {
  std::ifstream f("/proc/loadavg");
  double a, b, c;
  int running = 1;
  char slash;
  if (!(f >> a >> b >> c >> running >> slash))
    return 0;
  return std::max(0, running - 1);
}

/// Seconds the whole calibration may spend waiting for quiet moments.
double waitBudget = 45;

/// On a shared machine, waits (up to `maxSeconds`, and while the budget above
/// lasts) until no other task has been runnable for 0.3 s. Returns false if
/// that never happened.
bool waitForQuiet(double maxSeconds) {
  double start = now(), quietSince = start;
  double limit = std::min(maxSeconds, waitBudget);
  bool quiet = false;
  while (!quiet && now() - start < limit) {
    if (othersRunning())
      quietSince = now();
    else
      quiet = now() - quietSince >= 0.3;
    usleep(10000);
  }
  waitBudget -= now() - start;
  return quiet;
}

/// Measurements taken while another task was runnable (reported in the file).
int disturbed = 0, measurements = 0;

/// Seconds per call of `call`: the fastest of `blocks` blocks of
/// back-to-back calls, each at least `blockSeconds` long, after a warm-up
/// call. Each block waits for a quiet moment first; other processes only
/// ever add time, so the fastest block is the least disturbed one.
double timeHot(const std::function<void()> &call, int blocks = 15,
               double blockSeconds = 0.01) {
  call();
  double best = 1e300;
  bool quiet = false;
  for (int b = 0; b < blocks; ++b) {
    bool calm = waitForQuiet(1.0);
    int calls = 0;
    double start = now(), t;
    do {
      call();
      ++calls;
      t = now() - start;
    } while (t < blockSeconds);
    calm = calm && !othersRunning();
    quiet |= calm;
    best = std::min(best, t / calls);
  }
  ++measurements;
  disturbed += !quiet;
  return best;
}

// ------------------------------------------------------------ bandwidth, peak

/// Reads `words` 64-bit words; the integer sum keeps the reads alive and
/// vectorizes without reassociating floats. Never instrumented: in the
/// sanitizer build (docs/TESTING.md) a check per load would measure the
/// checks, not the memory.
__attribute__((noinline, no_sanitize("address", "undefined", "coverage")))
uint64_t readAll(const uint64_t *p, size_t words) {
  uint64_t a[8] = {};
  for (size_t i = 0; i + 8 <= words; i += 8)
    for (int j = 0; j < 8; ++j)
      a[j] += p[i + j];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

volatile uint64_t sink;

/// Best read bandwidth (GB/s) over `passes` passes of a buffer of `bytes`.
double readBandwidth(std::vector<uint64_t> &buffer, int passes) {
  double best = 0;
  for (int i = 0; i < passes; ++i) {
    waitForQuiet(2.0);
    double start = now();
    sink = readAll(buffer.data(), buffer.size());
    best = std::max(best, buffer.size() * 8.0 / (now() - start) / 1e9);
  }
  return best;
}

// Independent FMA chains (more than FMA latency x ports) over vectors of
// the widest width the CPU has; `a * m + c` contracts to one FMA.
#define QNT_FMA_LOOP(NAME, WIDTH, TARGET)                                      \
  __attribute__((noinline, target(TARGET))) float NAME(long iters) {          \
    typedef float V __attribute__((vector_size(WIDTH * 4)));                   \
    V a[12], m, c;                                                             \
    for (int j = 0; j < WIDTH; ++j) {                                          \
      m[j] = 0.9999f;                                                          \
      c[j] = 1e-4f;                                                            \
    }                                                                          \
    for (int i = 0; i < 12; ++i)                                               \
      a[i] = m * (float)i;                                                     \
    for (long it = 0; it < iters; ++it)                                        \
      for (int i = 0; i < 12; ++i)                                             \
        a[i] = a[i] * m + c;                                                   \
    float s = 0;                                                               \
    for (int i = 0; i < 12; ++i)                                               \
      for (int j = 0; j < WIDTH; ++j)                                          \
        s += a[i][j];                                                          \
    return s;                                                                  \
  }
QNT_FMA_LOOP(fmaLoop16, 16, "avx512f")
QNT_FMA_LOOP(fmaLoop8, 8, "avx2,fma")
QNT_FMA_LOOP(fmaLoop4, 4, "sse2")

/// f32 multiply-add peak of one thread, GFLOP/s (2 per FMA), and the ISA.
double fmaPeak(std::string &isa) {
  float (*loop)(long) = fmaLoop4;
  int width = 4;
  isa = "SSE2 (no FMA)";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    loop = fmaLoop16, width = 16, isa = "AVX-512";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    loop = fmaLoop8, width = 8, isa = "AVX2+FMA";
  }
  const long iters = 2000000;
  double seconds = timeHot([&] { sink = static_cast<uint64_t>(loop(iters)); },
                           5, 0.02);
  return iters * 12.0 * width * 2 / seconds / 1e9;
}

// --------------------------------------------------------------- the kernels

struct KernelSpec {
  std::string name;
  int64_t n, k;
  unsigned bits;
  int64_t group; // 0 = per channel
};

struct MemRef2D {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
using KernelFn = void (*)(MemRef2D *, MemRef2D *);

/// One module with every kernel: `y = qnt.matmul(x, W)` with random codes
/// and scales (random, so nothing folds), M dynamic.
std::string kernelModule(const std::vector<KernelSpec> &specs) {
  std::mt19937_64 rng(2026);
  std::string funcs, blobs;
  auto hex = [&](const std::vector<uint8_t> &bytes) {
    static const char *digits = "0123456789ABCDEF";
    std::string s = "\"0x40000000"; // alignment 64, little endian
    s.reserve(s.size() + 2 * bytes.size() + 2);
    for (uint8_t b : bytes) {
      s += digits[b >> 4];
      s += digits[b & 15];
    }
    return s + "\"";
  };
  for (const KernelSpec &s : specs) {
    int64_t rowBytes = (s.k * s.bits + 7) / 8;
    int64_t scaleCols = s.group ? s.k / s.group : 1;
    std::vector<uint8_t> codes(s.n * rowBytes), scales(s.n * scaleCols * 4);
    for (uint8_t &b : codes)
      b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(0.01f, 0.1f);
    for (int64_t i = 0; i < s.n * scaleCols; ++i) {
      float v = scale(rng);
      std::memcpy(&scales[4 * i], &v, 4);
    }
    std::string gran = s.group ? llvm::formatv("per_group<1, {0}>", s.group).str()
                               : std::string("per_channel<0>");
    std::string packed = llvm::formatv("!qnt.packed<{0}x{1}, #qnt.scheme<si{2}, "
                                       "symmetric, {3}>>",
                                       s.n, s.k, s.bits, gran);
    std::string xt = llvm::formatv("tensor<?x{0}xf32>", s.k).str();
    std::string yt = llvm::formatv("tensor<?x{0}xf32>", s.n).str();
    funcs += llvm::formatv(
        "func.func @{0}(%x: {1}) -> {2} attributes {{llvm.emit_c_interface} {{\n"
        "  %w = qnt.constant {{codes = dense_resource<{0}_codes> : "
        "tensor<{3}x{4}xi8>, scales = dense_resource<{0}_scales> : "
        "tensor<{3}x{5}xf32>} : {6}\n"
        "  %y = qnt.matmul %x, %w : ({1}, {6}) -> {2}\n"
        "  return %y : {2}\n}\n",
        s.name, xt, yt, s.n, rowBytes, scaleCols, packed);
    blobs += (blobs.empty() ? "" : ",\n") + s.name + "_codes: " + hex(codes) +
             ",\n" + s.name + "_scales: " + hex(scales);
  }
  return funcs + "{-#\n dialect_resources: {\n builtin: {\n" + blobs +
         "\n }\n }\n#-}\n";
}

/// A loaded library of compiled kernels; unloaded and deleted at the end.
struct KernelLibrary {
  void *handle = nullptr;
  SmallString<128> path;
  ~KernelLibrary() {
    if (handle)
      dlclose(handle);
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

/// Compiles `text` the way quant-compile compiles a model (default kernel
/// options, one thread) and loads it.
std::string compileKernels(MLIRContext &context, StringRef cpu,
                           const std::string &text, KernelLibrary &lib) {
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(&context));
  if (!module)
    return "the generated kernel module does not parse";
  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      createHostTargetMachine(cpu, error);
  if (!machine)
    return error;
  // The f32-activation kernels, which the cost model describes, chosen for
  // the host as quant-compile chooses them.
  (*module)->setAttr(kTargetAttrName, hostTarget(&context, *machine));
  CpuPipelineOptions options;
  options.activations = "f32";
  PassManager pm(&context);
  buildCpuPipeline(pm, options);
  if (failed(pm.run(*module)))
    return "the kernel pipeline failed on the generated kernels";
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(*module, llvmContext, *machine);
  if (!llvmModule)
    return "translating the kernels to LLVM IR failed";
  SmallString<128> object;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("qnt-calibrate", "o", object))
    return "cannot create a temporary file: " + ec.message();
  llvm::FileRemover removeObject(object);
  std::unique_ptr<OutputFile> objectFile = OutputFile::create(object, error);
  if (!objectFile)
    return error;
  if (!emitMachineCode(*llvmModule, *machine, llvm::CodeGenFileType::ObjectFile,
                       objectFile->os(), error))
    return error;
  if (std::string e = objectFile->commit(); !e.empty())
    return e;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("qnt-calibrate", "so", lib.path))
    return "cannot create a temporary file: " + ec.message();
  if (!linkSharedLibrary({std::string(object)}, lib.path, false, error))
    return error;
  lib.handle = dlopen(lib.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib.handle)
    return std::string("cannot load the kernels: ") + dlerror();
  return "";
}

/// Calls a kernel on x[m, k] and frees the result.
struct Kernel {
  KernelSpec spec;
  KernelFn fn = nullptr;
  void run(std::vector<float> &x, int64_t m) const {
    MemRef2D in{x.data(), x.data(), 0, {m, spec.k}, {spec.k, 1}}, out{};
    fn(&out, &in);
    std::free(out.allocated);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

std::string mlir::qnt::calibrateHostTarget(MLIRContext &context, StringRef cpu,
                                           llvm::raw_ostream &log,
                                           std::string &targetText) {
  double start = now();
  auto progress = [&](const Twine &what) {
    log << llvm::formatv("calibrate: [{0,6:f1} s] ", now() - start) << what
        << "\n";
    log.flush();
  };

  // Memory: a buffer far larger than the caches; the cache level that holds
  // x for large M is estimated from the kernels below.
  progress("measuring read bandwidth (512 MiB buffer, best of 5)");
  std::vector<uint64_t> big(512ull << 17, 1);
  double memoryGBs = readBandwidth(big, 5);
  progress(llvm::formatv("memory read bandwidth {0:f1} GB/s", memoryGBs));
  std::string isa;
  double peak = fmaPeak(isa);
  progress(llvm::formatv("f32 FMA peak {0:f1} GFLOP/s ({1})", peak, isa));

  // Kernels: for every code width a small weight (in cache) per channel, to
  // time full and one-row tiles; groups of 32 and 128 for the group cost;
  // 4096 x 4096 int4 g128 and int8 per channel cold, for the overlap of the
  // weight stream with the computation; a tiny one for the call overhead.
  const int64_t n = 256, k = 4096;
  std::vector<KernelSpec> specs;
  for (unsigned b = 1; b <= 8; ++b)
    specs.push_back({"pc" + std::to_string(b), n, k, b, 0});
  for (unsigned b : {2u, 4u, 8u})
    for (int64_t g : {32, 128})
      specs.push_back({llvm::formatv("g{0}b{1}", g, b).str(), n, k, b, g});
  specs.push_back({"cold4", 4096, 4096, 4, 128});
  specs.push_back({"cold8", 4096, 4096, 8, 0});
  specs.push_back({"tiny", 4, 128, 8, 0});
  progress(llvm::formatv("compiling {0} qnt.matmul kernels with the CPU "
                         "pipeline (default tile options)",
                         specs.size()));
  KernelLibrary lib;
  if (std::string e = compileKernels(context, cpu, kernelModule(specs), lib);
      !e.empty())
    return e;
  std::vector<Kernel> kernels;
  for (const KernelSpec &s : specs) {
    auto fn = reinterpret_cast<KernelFn>(
        dlsym(lib.handle, (kEntrySymbolPrefix.str() + s.name).c_str()));
    if (!fn)
      return "kernel '" + s.name + "' is missing from the compiled library";
    kernels.push_back({s, fn});
  }
  auto find = [&](StringRef name) -> const Kernel & {
    return *llvm::find_if(kernels,
                          [&](const Kernel &kk) { return kk.spec.name == name; });
  };

  // The tile of the kernels just compiled (the model describes it).
  QntSelectKernelsPassOptions options;
  {
    std::string error;
    std::unique_ptr<llvm::TargetMachine> machine =
        createHostTargetMachine(cpu, error);
    if (!machine)
      return error;
    options.activations = "f32";
    options = resolveKernelOptions(options, hostTarget(&context, *machine));
  }
  const int64_t rows = options.rowsPerTile, cols = options.colsPerTile;
  const int64_t bigM = 128;
  std::vector<float> x(bigM * 4096);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-1, 1);
  for (float &v : x)
    v = uni(rng);

  TargetDescription t;
  t.name = "host-x86_64";
  t.memoryBandwidthGBs = memoryGBs;
  t.peakGflops = peak;
  t.rowsPerTile = rows;
  t.colsPerTile = cols;
  // Overhead: a call on a tiny weight (result allocation included); the
  // kernel times below are net of it.
  {
    const Kernel &kern = find("tiny");
    t.overheadUs = timeHot([&] { kern.run(x, 1); }, 7, 0.005) * 1e6;
    progress(llvm::formatv("call overhead {0:f2} us", t.overheadUs));
  }
  auto net = [&](double seconds) {
    return std::max(0.0, seconds - t.overheadUs * 1e-6);
  };

  double codes = double(n) * k;
  progress(llvm::formatv("timing one-row tiles (M = 1) and full tiles (M = "
                         "{0}) of {1}x{2} weights, 1 to 8 bits",
                         rows, n, k));
  for (unsigned b = 1; b <= 8; ++b) {
    const Kernel &kern = find("pc" + std::to_string(b));
    t.rowPsPerCode[b - 1] =
        net(timeHot([&] { kern.run(x, 1); })) / codes * 1e12;
    t.tilePsPerCode[b - 1] =
        net(timeHot([&] { kern.run(x, rows); })) / codes * 1e12;
    progress(llvm::formatv("  {0} bits: {1:f1} ps per code (one row), {2:f1} "
                           "ps per code (tile of {3} rows)",
                           b, t.rowPsPerCode[b - 1], t.tilePsPerCode[b - 1],
                           rows));
  }
  // Group scaling: the extra time of groups over per-channel scales, per
  // group (least squares over the group sizes and widths).
  double num = 0, den = 0;
  for (unsigned b : {2u, 4u, 8u})
    for (int64_t g : {32, 128}) {
      const Kernel &kern = find(llvm::formatv("g{0}b{1}", g, b).str());
      double extra = net(timeHot([&] { kern.run(x, 1); })) -
                     t.rowPsPerCode[b - 1] * codes * 1e-12;
      double groups = double(n) * (k / g);
      num += extra * groups;
      den += groups * groups;
    }
  t.dequantNsPerGroup = std::max(0.0, num / den * 1e9);
  progress(llvm::formatv("group scaling {0:f3} ns per group and tile",
                         t.dequantNsPerGroup));

  // x of M = 128 rows (2 MiB) is read again for every tile of weight rows;
  // where it no longer fits in the core's cache, that read is the limit.
  long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  t.cacheBytes = l2 > 0 ? double(l2) : 1048576.0;
  {
    const Kernel &kern = find("pc8");
    double seconds = net(timeHot([&] { kern.run(x, bigM); }, 5, 0.02));
    double traffic = double((n + cols - 1) / cols) * bigM * k * 4;
    t.cacheBandwidthGBs = traffic / seconds / 1e9;
    progress(llvm::formatv("x re-read at M = {0}: {1:f1} GB/s (core cache "
                           "{2} KiB)",
                           bigM, t.cacheBandwidthGBs, t.cacheBytes / 1024));
  }

  // Cold GEMV: read 256 MiB of the big buffer before every call to evict
  // the weights, then fit the overlap exponent to both widths.
  progress("timing cold GEMVs of 4096x4096 int4 g128 and int8 per channel");
  struct Cold {
    const char *name;
    SchemeCost scheme;
    double seconds;
  } cold[] = {{"cold4", {4, 128, 32, false}, 0},
              {"cold8", {8, 0, 32, false}, 0}};
  for (Cold &c : cold) {
    const Kernel &kern = find(c.name);
    std::vector<double> samples;
    for (int i = 0; i < 11; ++i) {
      waitForQuiet(2.0);
      sink = readAll(big.data(), big.size() / 2);
      double s = now();
      kern.run(x, 1);
      samples.push_back(now() - s);
    }
    c.seconds = median(samples);
  }
  double bestP = 0, bestErr = 1e300;
  for (double p = 1.0; p <= 8.0001; p += 0.05) {
    t.overlapP = p;
    double err = 0;
    for (Cold &c : cold) {
      double r = std::log(t.predictSeconds(1, 4096, 4096, c.scheme) / c.seconds);
      err += r * r;
    }
    if (err < bestErr)
      bestErr = err, bestP = p;
  }
  t.overlapP = bestP;
  progress(llvm::formatv("cold GEMV {0:f3} ms (int4 g128), {1:f3} ms (int8); "
                         "overlap exponent {2:f2}",
                         cold[0].seconds * 1e3, cold[1].seconds * 1e3, bestP));

  // The file, with the model's predictions of what was measured.
  std::string cpuName;
  {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (cpuName.empty() && std::getline(info, line))
      if (line.rfind("model name", 0) == 0)
        cpuName = line.substr(line.find(':') + 2);
  }
  char date[32];
  std::time_t tt = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&tt));
  std::string list[2];
  for (unsigned b = 0; b < 8; ++b) {
    list[0] += llvm::formatv("{0}{1:f1}", b ? " " : "", t.tilePsPerCode[b]);
    list[1] += llvm::formatv("{0}{1:f1}", b ? " " : "", t.rowPsPerCode[b]);
  }
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "# " << t.name << ": measured by `quant-compile --calibrate-target` on "
     << date << "\n# CPU: " << (cpuName.empty() ? "unknown" : cpuName) << ", "
     << sysconf(_SC_NPROCESSORS_ONLN) << " CPUs; one thread; kernels of "
     << "qnt-cpu-pipeline (chunk " << options.chunk << ", "
     << rows << "x" << cols << " tiles) for -mcpu=" << cpu << ".\n"
     << "# Times predicted from this file are for one thread with the "
        "weights read\n# from memory (not from cache). docs/COST_MODEL.md "
        "describes every key.\n"
     << "name = " << t.name << "\n"
     << llvm::formatv("memory_bandwidth_gbs = {0:f1}\n", t.memoryBandwidthGBs)
     << llvm::formatv("peak_gflops = {0:f1}   # f32 FMA, {1}\n", t.peakGflops,
                      isa)
     << llvm::formatv("dequant_ns_per_group = {0:f3}\n", t.dequantNsPerGroup)
     << llvm::formatv("overhead_us = {0:f2}\n", t.overheadUs)
     << "rows_per_tile = " << rows << "\ncols_per_tile = " << cols << "\n"
     << "# picoseconds per weight code, code widths 1 to 8 bits\n"
     << "tile_ps_per_code = " << list[0] << "\n"
     << "row_ps_per_code = " << list[1] << "\n"
     << llvm::formatv("cache_bandwidth_gbs = {0:f1}\n", t.cacheBandwidthGBs)
     << llvm::formatv("cache_bytes = {0:f0}\n", t.cacheBytes)
     << llvm::formatv("overlap_p = {0:f2}\n", t.overlapP);
  os << llvm::formatv("# {0} of {1} timings had no quiet moment (another "
                      "task was runnable throughout).\n",
                      disturbed, measurements);
  os << "# Check (measured here / predicted by the lines above):\n";
  for (Cold &c : cold)
    os << llvm::formatv("#   {0} M=1 cold: {1:f1} us / {2:f1} us\n", c.name,
                        c.seconds * 1e6,
                        t.predictSeconds(1, 4096, 4096, c.scheme) * 1e6);
  for (unsigned b : {4u, 8u}) {
    const Kernel &kern = find("pc" + std::to_string(b));
    for (int64_t m : {int64_t(16), bigM}) {
      double measured = timeHot([&] { kern.run(x, m); }, 5, 0.01);
      // Hot: the small weight is in cache, so leave out its memory term.
      TargetDescription hot = t;
      hot.memoryBandwidthGBs = 1e9;
      double predicted = hot.predictSeconds(m, n, k, {b, 0, 32, false});
      os << llvm::formatv("#   {0}x{1} int{2} per channel M={3} hot: {4:f1} us "
                          "/ {5:f1} us\n",
                          n, k, b, m, measured * 1e6, predicted * 1e6);
    }
  }
  targetText = s;
  progress("done");
  return "";
}
