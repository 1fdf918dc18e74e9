// Loading a quant-compile model library and calling its entry points.
#include "qnt/Runner/ModelLibrary.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace mlir::qnt;
using llvm::StringRef;
using llvm::Twine;


/// The signature string `symbol` points to, when the library's symbol table
/// says it is NUL-terminated within the symbol; else null.
static const char *terminatedString(const void *symbol) {
  Dl_info info;
  void *found = nullptr;
  if (!symbol || !dladdr1(symbol, &info, &found, RTLD_DL_SYMENT) || !found)
    return nullptr;
  const auto *entry = static_cast<const ElfW(Sym) *>(found);
  if (entry->st_size == 0)
    return nullptr;
  const char *text = static_cast<const char *>(symbol);
  return std::memchr(text, 0, entry->st_size) ? text : nullptr;
}

/// A memref descriptor as the C interface lays it out: two pointers, the
/// offset, then sizes and strides, all 8 bytes.
static std::vector<int64_t> descriptor(llvm::ArrayRef<int64_t> shape,
                                       const void *data) {
  size_t rank = shape.size();
  std::vector<int64_t> words(3 + 2 * rank, 0);
  std::memcpy(&words[0], &data, sizeof data);
  std::memcpy(&words[1], &data, sizeof data);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    words[3 + i] = shape[i];
    words[3 + rank + i] = stride;
    stride *= shape[i];
  }
  return words;
}

static bool isScalarI32(const AbiValue &v) {
  return !v.isMemRef && v.element == "i32";
}

std::unique_ptr<ModelLibrary> ModelLibrary::load(const std::string &path,
                                                 const std::string &displayName,
                                                 const std::string &entry,
                                                 std::string &error) {
  std::unique_ptr<ModelLibrary> lib(new ModelLibrary());
  lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    std::string why = dlerror();
    // A --target=cuda library needs the NVIDIA driver's libcuda.so.1.
    if (StringRef(why).contains("libcuda.so.1"))
      error = "no CUDA device: cannot load '" + displayName +
              "': the NVIDIA driver (libcuda.so.1) is not installed (" + why +
              ")";
    else
      error = "cannot load '" + displayName + "': " + why;
    return nullptr;
  }
  // A --target=cuda library reports CUDA failures (no device, a failed
  // launch) through qnt_cuda_init / qnt_cuda_error instead of aborting.
  using CudaStatus = const char *(*)();
  lib->cudaError = reinterpret_cast<CudaStatus>(lib->symbol("qnt_cuda_error"));
  if (auto cudaInit =
          reinterpret_cast<CudaStatus>(lib->symbol("qnt_cuda_init")))
    if (const char *message = cudaInit()) {
      error = message;
      return nullptr;
    }
  std::string signatureName = kSignatureSymbolPrefix.str() + entry;
  std::string entryName = kEntrySymbolPrefix.str() + entry;
  void *signatureSymbol = lib->symbol(signatureName);
  lib->stepFunction = lib->symbol(entryName);
  if (!signatureSymbol || !lib->stepFunction) {
    error = "'" + displayName + "' has no '" + entry +
            "' step function compiled by quant-compile (looked for " +
            entryName + " and " + signatureName + ")";
    return nullptr;
  }
  const char *signature = terminatedString(signatureSymbol);
  if (!signature) {
    error = "'" + displayName + "': " + signatureName +
            " is not a NUL-terminated string within its symbol";
    return nullptr;
  }

  // Check the ABI: (token, position, state..., logits) -> ().
  StringRef sig(signature);
  std::vector<AbiValue> args, results;
  auto fail = [&](const Twine &message) {
    error = message.str();
    return nullptr;
  };
  if (!parseSignature(sig, args, results))
    return fail("cannot parse the signature of '" + entry + "': " + sig);
  for (const AbiValue &v : args)
    if (v.shape.size() > kMaxAbiRank)
      return fail("'" + entry + "' has a buffer of rank " +
                  Twine(v.shape.size()) + "; the ABI allows at most " +
                  Twine(kMaxAbiRank) + ": " + sig);
  if (args.size() < 3 || !isScalarI32(args[0]) || !isScalarI32(args[1]) ||
      !results.empty())
    return fail("'" + entry +
                "' must take (i32 token, i32 position, state..., logits) and "
                "return nothing, not " +
                sig);
  const AbiValue &logits = args.back();
  if (!logits.isMemRef || logits.element != "f32" || logits.shape.size() != 1 ||
      logits.shape[0] < 1)
    return fail("'" + entry + "' must take the logits row (memref<Nxf32>) "
                "last: " + sig);
  if (logits.shape[0] > kMaxVocabulary)
    return fail("'" + entry + "' has a logits row of " +
                Twine(logits.shape[0]) + " entries; the limit is " +
                Twine(kMaxVocabulary) + ": " + sig);
  std::vector<AbiValue> state(args.begin() + 2, args.end() - 1);
  if (state.size() > kMaxStateBuffers)
    return fail("'" + entry + "' has more than " + Twine(kMaxStateBuffers) +
                " state buffers: " + sig);
  // A library whose caches' shapes do not show their positions (an i4
  // cache's [layers, kv heads, bytes]) says them in qnt_context.
  if (auto *context =
          static_cast<const int64_t *>(lib->symbol(kContextSymbol.str())))
  {
    if (*context < 1 || *context > kMaxContext)
      return fail("the library's " + kContextSymbol + " is " +
                  Twine(*context) + " positions; it must be 1 to " +
                  Twine(kMaxContext));
    lib->contextSize = *context;
  }
  bool contextGiven = lib->contextSize != 0;
  int64_t stateBytes = 0;
  for (const AbiValue &s : state) {
    if (!s.isMemRef ||
        !llvm::is_contained({"f32", "f16", "i8"}, StringRef(s.element)))
      return fail("'" + entry + "' has a state argument that is not an f32, "
                  "f16 or i8 buffer: " + sig);
    if (llvm::is_contained(s.shape, -1))
      return fail("'" + entry +
                  "' has a state buffer with a dynamic "
                  "dimension, which the caller cannot size: " +
                  sig);
    if (s.numElements() < 0 ||
        s.numElements() > INT64_MAX / int64_t(sizeof(float)))
      return fail("'" + entry + "' has a state buffer of " +
                  Twine(s.shape.size()) +
                  " dimensions whose size overflows 64 bits: " + sig);
    int64_t elementBytes = stateElementBytes(s);
    stateBytes += std::min(s.numElements() * elementBytes, kMaxStateBytes + 1);
    if (stateBytes > kMaxStateBytes)
      return fail("'" + entry + "' needs more than " + Twine(kMaxStateBytes) +
                  " bytes (64 GiB) of state, the limit: " + sig);
    // Else the second dimension of a cache is its positions (an i8
    // cache's records are [layers, positions, bytes]).
    if (s.shape.size() >= 2 && !contextGiven)
      lib->contextSize = lib->contextSize
                             ? std::min(lib->contextSize, s.shape[1])
                             : s.shape[1];
  }
  if (lib->contextSize == 0)
    return fail("'" + entry + "' has no state buffer of rank 2 or more (the "
                "KV cache, whose second dimension is the context): " + sig);
  if (lib->contextSize > kMaxContext)
    return fail("'" + entry + "' has a context of " + Twine(lib->contextSize) +
                " positions; the limit is " + Twine(kMaxContext) + ": " + sig);
  lib->vocab = logits.shape[0];

  // The optional prefill entry point: the same state and logits after a
  // token buffer and the position.
  if (void *fn = lib->symbol(kEntrySymbolPrefix.str() + "prefill")) {
    const char *prefillSig =
        terminatedString(lib->symbol(kSignatureSymbolPrefix.str() + "prefill"));
    std::vector<AbiValue> pArgs, pResults;
    if (!prefillSig || !parseSignature(prefillSig, pArgs, pResults))
      return fail("cannot parse the signature of 'prefill'");
    bool ok = pResults.empty() && pArgs.size() == args.size() &&
              pArgs[0].isMemRef && pArgs[0].element == "i32" &&
              pArgs[0].shape == std::vector<int64_t>{-1} &&
              isScalarI32(pArgs[1]);
    for (size_t i = 2; ok && i < args.size(); ++i)
      ok = pArgs[i].isMemRef == args[i].isMemRef &&
           pArgs[i].element == args[i].element &&
           pArgs[i].shape == args[i].shape;
    if (!ok)
      return fail("'prefill' must take (memref<?xi32> tokens, i32 position) "
                  "and then the arguments of '" + entry + "', not " +
                  prefillSig);
    lib->prefillFunction = fn;
  }

  // State buffers the caller owns, zero at the start: mapped anonymous
  // memory, so a large cache costs memory only where it is written, on huge
  // pages where the kernel gives them (a step reads every layer's rows: with
  // 4 KiB pages, a TLB miss every few rows).
  for (const AbiValue &s : state) {
    size_t elementBytes = stateElementBytes(s);
    size_t bytes = std::max<size_t>(size_t(s.numElements()) * elementBytes, 1);
    void *data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (data == MAP_FAILED)
      return fail("cannot allocate the state of '" + entry + "' (" +
                  Twine(bytes) + " bytes): " + std::strerror(errno));
    madvise(data, bytes, MADV_HUGEPAGE);
    lib->stateData.push_back({data, s.numElements() * int64_t(elementBytes)});
    lib->stateDescriptors.push_back(descriptor(s.shape, data));
  }
  lib->logits.assign(lib->vocab, 0.0f);
  lib->logitsDescriptor = descriptor({lib->vocab}, lib->logits.data());
  return lib;
}

void mlir::qnt::releasePages(void *data, size_t bytes) {
  uintptr_t page = sysconf(_SC_PAGESIZE);
  uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  if (begin < end)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

namespace {
/// The address range of the largest read-only, non-executable PT_LOAD
/// segment of the object loaded at `bias` (dl_iterate_phdr's search).
struct ReadOnlySegment {
  uintptr_t bias = 0, begin = 0, end = 0;
};
} // namespace

static int findReadOnlySegment(dl_phdr_info *info, size_t, void *data) {
  auto *segment = static_cast<ReadOnlySegment *>(data);
  if (info->dlpi_addr != segment->bias)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &header = info->dlpi_phdr[i];
    if (header.p_type != PT_LOAD || header.p_flags != PF_R)
      continue;
    uintptr_t begin = info->dlpi_addr + header.p_vaddr;
    if (header.p_memsz > segment->end - segment->begin)
      *segment = {segment->bias, begin, begin + header.p_memsz};
  }
  return 1;
}

/// The AnonHugePages of this process's mapping that starts at `begin`
/// (/proc/self/smaps), in bytes; 0 where it cannot be read.
static size_t anonHugeBytesAt(uintptr_t begin) {
  FILE *smaps = std::fopen("/proc/self/smaps", "r");
  if (!smaps)
    return 0;
  char line[512];
  bool inMapping = false;
  size_t bytes = 0;
  while (std::fgets(line, sizeof line, smaps)) {
    unsigned long start, stop;
    // A mapping's first line: "start-end perms ..." (no field name, such
    // as "Rss:", reads as two hex numbers joined by '-').
    if (std::sscanf(line, "%lx-%lx ", &start, &stop) == 2) {
      inMapping = start == begin;
      continue;
    }
    unsigned long kib;
    if (inMapping && std::sscanf(line, "AnonHugePages: %lu kB", &kib) == 1) {
      bytes = size_t(kib) * 1024;
      break;
    }
  }
  std::fclose(smaps);
  return bytes;
}

/// MemAvailable of /proc/meminfo in bytes (free memory and what the
/// kernel can reclaim, such as the page cache), or the free pages where it
/// cannot be read.
static size_t availableMemoryBytes() {
  if (FILE *meminfo = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long kib = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof line, meminfo))
      found = std::sscanf(line, "MemAvailable: %lu kB", &kib) == 1;
    std::fclose(meminfo);
    if (found)
      return size_t(kib) * 1024;
  }
  return size_t(sysconf(_SC_AVPHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
}

bool ModelLibrary::moveWeightsToHugePages(MovedWeights &moved,
                                          std::string &error) {
  moved = {};
  auto start = std::chrono::steady_clock::now();
  link_map *map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map)
    return true;
  ReadOnlySegment segment{map->l_addr};
  dl_iterate_phdr(findReadOnlySegment, &segment);
  // Only whole 2 MiB pages can be huge; the segment's ends stay mapped
  // from the file.
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  uintptr_t begin = llvm::alignTo(segment.begin, kHuge);
  uintptr_t end = llvm::alignDown(segment.end, kHuge);
  if (segment.end == 0 || end <= begin)
    return true;
  size_t bytes = end - begin;
  moved.pageBytes = bytes;
  if (size_t available = availableMemoryBytes(); bytes > available / 2) {
    moved.availableBytes = available;
    return true;
  }
  auto fail = [&](const char *what) {
    error = std::string("cannot move the weights (") + std::to_string(bytes) +
            " bytes) to anonymous memory: " + what + ": " +
            std::strerror(errno);
    return false;
  };
  // A 2 MiB-aligned region: mremap keeps huge pages only between aligned
  // addresses.
  void *raw = mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED)
    return fail("mmap");
  uintptr_t rawBegin = reinterpret_cast<uintptr_t>(raw);
  uintptr_t copy = llvm::alignTo(rawBegin, kHuge);
  if (copy > rawBegin)
    munmap(raw, copy - rawBegin);
  if (rawBegin + bytes + kHuge > copy + bytes)
    munmap(reinterpret_cast<void *>(copy + bytes),
           rawBegin + bytes + kHuge - (copy + bytes));
  void *copyData = reinterpret_cast<void *>(copy);
  void *weights = reinterpret_cast<void *>(begin);
  // Without transparent huge pages (or with them off) the advice fails and
  // the copy is on 4 KiB pages, as the file mapping was: no error.
  madvise(copyData, bytes, MADV_HUGEPAGE);
  std::memcpy(copyData, weights, bytes);
  if (mprotect(copyData, bytes, PROT_READ) != 0) {
    munmap(copyData, bytes);
    return fail("mprotect");
  }
  // Replaces the file mapping of [begin, end) in one call.
  if (mremap(copyData, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED,
             weights) == MAP_FAILED) {
    munmap(copyData, bytes);
    return fail("mremap");
  }
  moved.bytes = bytes;
  moved.hugeBytes = anonHugeBytesAt(begin);
  moved.seconds = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return true;
}

ModelLibrary::~ModelLibrary() {
  for (StateBuffer &s : stateData)
    munmap(s.data, std::max<size_t>(s.bytes, 1));
  // No dlclose: a library built with OpenMP loaded libomp, whose worker
  // threads may still exist; unloading it under them is not safe. The
  // process keeps the mapping until it exits.
}

void *ModelLibrary::symbol(const std::string &name) const {
  return dlsym(handle, name.c_str());
}

int64_t ModelLibrary::stateBytes() const {
  int64_t bytes = 0;
  for (const StateBuffer &s : stateData)
    bytes += s.bytes;
  return bytes;
}

void ModelLibrary::resetState() {
  for (StateBuffer &s : stateData)
    std::memset(s.data, 0, s.bytes);
}

bool ModelLibrary::setThreads(int threads) {
  auto set =
      reinterpret_cast<void (*)(int32_t)>(symbol(kSetThreadsSymbol.str()));
  if (set)
    set(threads);
  return set != nullptr;
}

const float *ModelLibrary::finishCall(std::string &error) {
  if (cudaError)
    if (const char *message = cudaError()) {
      error = message;
      return nullptr;
    }
  return logits.data();
}

const float *ModelLibrary::step(int64_t token, int64_t position,
                                std::string &error) {
  // Unused trailing arguments sit in registers or on the caller's stack.
  using Step = void (*)(int32_t, int32_t, void *, void *, void *, void *,
                        void *);
  void *ptrs[kMaxStateBuffers + 1] = {};
  size_t n = 0;
  for (std::vector<int64_t> &d : stateDescriptors)
    ptrs[n++] = d.data();
  ptrs[n] = logitsDescriptor.data();
  reinterpret_cast<Step>(stepFunction)(int32_t(token), int32_t(position),
                                       ptrs[0], ptrs[1], ptrs[2], ptrs[3],
                                       ptrs[4]);
  return finishCall(error);
}

const float *ModelLibrary::prefill(const std::vector<int32_t> &tokens,
                                   int64_t position, std::string &error) {
  using Prefill = void (*)(void *, int32_t, void *, void *, void *, void *,
                           void *);
  std::vector<int64_t> tokensDescriptor =
      descriptor({int64_t(tokens.size())}, tokens.data());
  void *ptrs[kMaxStateBuffers + 1] = {};
  size_t n = 0;
  for (std::vector<int64_t> &d : stateDescriptors)
    ptrs[n++] = d.data();
  ptrs[n] = logitsDescriptor.data();
  reinterpret_cast<Prefill>(prefillFunction)(tokensDescriptor.data(),
                                             int32_t(position), ptrs[0],
                                             ptrs[1], ptrs[2], ptrs[3],
                                             ptrs[4]);
  return finishCall(error);
}
