/* The qnt CUDA runtime: the mgpu* functions that the host code of a library
 * compiled with quant-compile --target=cuda calls, on the CUDA driver API.
 *
 * MLIR's gpu-to-llvm lowering and the gpu.binary translation emit calls with
 * these exact signatures (MLIR 22):
 *   ptr  mgpuModuleLoad(ptr data, i64 size)        cubin, from a global ctor
 *   ptr  mgpuModuleLoadJIT(ptr ptx, i32 optLevel)  PTX (NUL-terminated)
 *   void mgpuModuleUnload(ptr module)              from a global dtor
 *   ptr  mgpuModuleGetFunction(ptr module, ptr name)
 *   void mgpuLaunchKernel(ptr f, i64 gx, gy, gz, bx, by, bz, i32 smem,
 *                         ptr stream, ptr params, ptr extra, i64 nparams)
 *   ptr  mgpuStreamCreate(), void mgpuStreamSynchronize(ptr),
 *   void mgpuStreamDestroy(ptr)
 *   ptr  mgpuMemAlloc(i64 bytes, ptr stream, i8 hostShared)
 *   void mgpuMemFree(ptr, ptr stream)
 *   void mgpuMemcpy(ptr dst, ptr src, i64 bytes, ptr stream)
 * plus qnt_cuda_constant (device copies of the model's constants, made once)
 * and the two functions of include/qnt/Runtime/CudaRuntime.h.
 *
 * Written in C so the model library links with the C driver and needs no C++
 * runtime. Nothing here aborts or prints: the first failure is recorded
 * (sticky), later calls do nothing, and the caller reads qnt_cuda_error().
 * A library is loaded (its module-load constructor runs) before anyone can
 * ask, so failing quietly and answering later is the only way to report a
 * missing device instead of crashing. */
#include "qnt/Runtime/CudaRuntime.h"

#include <cuda.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Only the two status functions are exported from the model library. The
 * mgpu* functions stay hidden (the archive is built with hidden visibility):
 * each library keeps its own state, and does not interpose on, or get
 * interposed by, another library's mgpu* (MLIR's runtime wrappers, a second
 * model). */
#define QNT_EXPORT __attribute__((visibility("default")))
#define QNT_HIDDEN __attribute__((visibility("hidden")))

/* --- errors ------------------------------------------------------------- */

static pthread_mutex_t errorLock = PTHREAD_MUTEX_INITIALIZER;
static char errorText[1024];
/* Read without the lock on the fast path; written once, under the lock. */
static volatile int failed;

static void recordError(const char *format, ...) {
  pthread_mutex_lock(&errorLock);
  if (!failed) {
    va_list args;
    va_start(args, format);
    vsnprintf(errorText, sizeof errorText, format, args);
    va_end(args);
    failed = 1;
  }
  pthread_mutex_unlock(&errorLock);
}

/* "CUDA_ERROR_X (description)". cuGetErrorName itself fails on the stub
 * library and on broken drivers, hence the fallback to the number. */
static const char *describe(CUresult result, char *buffer, size_t size) {
  const char *name = NULL, *text = NULL;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = NULL;
  if (cuGetErrorString(result, &text) != CUDA_SUCCESS || !text)
    text = NULL;
  if (name && text)
    snprintf(buffer, size, "%s (%s)", name, text);
  else if (result == CUDA_ERROR_STUB_LIBRARY)
    snprintf(buffer, size, "CUDA_ERROR_STUB_LIBRARY");
  else
    snprintf(buffer, size, "CUresult %d", (int)result);
  return buffer;
}

/* Checks a driver call; on failure records "WHAT failed: CUDA_ERROR_X (..)". */
static bool check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return true;
  char buffer[256];
  recordError("CUDA error: %s failed: %s", what,
              describe(result, buffer, sizeof buffer));
  return false;
}

/* --- initialization ------------------------------------------------------ */

static pthread_once_t initOnce = PTHREAD_ONCE_INIT;
static CUdevice device;
static CUcontext context;
static bool memoryPools; /* cuMemAllocAsync / cuMemFreeAsync available */

static void initialize(void) {
  char buffer[256];
  CUresult result = cuInit(0);
  if (result == CUDA_ERROR_STUB_LIBRARY) {
    recordError("no CUDA device: the CUDA driver is not installed "
                "(libcuda.so.1 is the toolkit's stub library)");
    return;
  }
  if (result == CUDA_ERROR_NO_DEVICE) {
    recordError("no CUDA device: the driver found no GPU "
                "(cuInit: CUDA_ERROR_NO_DEVICE)");
    return;
  }
  if (result != CUDA_SUCCESS) {
    recordError("no CUDA device: cuInit failed: %s",
                describe(result, buffer, sizeof buffer));
    return;
  }
  int count = 0;
  result = cuDeviceGetCount(&count);
  if (result != CUDA_SUCCESS || count == 0) {
    recordError("no CUDA device: the driver reports %d devices%s%s", count,
                result == CUDA_SUCCESS ? "" : ": ",
                result == CUDA_SUCCESS ? ""
                                       : describe(result, buffer, sizeof buffer));
    return;
  }
  if (!check(cuDeviceGet(&device, 0), "cuDeviceGet(0)") ||
      !check(cuDevicePrimaryCtxRetain(&context, device),
             "cuDevicePrimaryCtxRetain"))
    return;
  int pools = 0;
  if (cuDeviceGetAttribute(&pools, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                           device) == CUDA_SUCCESS)
    memoryPools = pools != 0;
  if (memoryPools) {
    // By default the pool returns freed memory to the system at every
    // synchronization, so each call would allocate its buffers afresh; keep
    // them for the next call instead. Only a cache policy: failing to set
    // it is not an error.
    CUmemoryPool pool;
    cuuint64_t keepAll = ~(cuuint64_t)0;
    if (cuDeviceGetDefaultMemPool(&pool, device) == CUDA_SUCCESS)
      cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepAll);
  }
}

/* Makes the primary context current on this thread; false after any error. */
static bool ready(void) {
  pthread_once(&initOnce, initialize);
  if (failed)
    return false;
  CUcontext current = NULL;
  if (cuCtxGetCurrent(&current) == CUDA_SUCCESS && current == context)
    return true;
  return check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

QNT_EXPORT const char *qnt_cuda_init(void) {
  ready();
  return qnt_cuda_error();
}

QNT_EXPORT const char *qnt_cuda_error(void) {
  pthread_mutex_lock(&errorLock);
  const char *result = failed ? errorText : NULL;
  pthread_mutex_unlock(&errorLock);
  return result;
}

/* --- modules and kernels ------------------------------------------------- */

QNT_HIDDEN void *mgpuModuleLoad(void *data, size_t size) {
  (void)size; /* a cubin is an ELF image; the driver reads its size */
  CUmodule module = NULL;
  if (!ready())
    return NULL;
  CUresult result = cuModuleLoadData(&module, data);
  if (result == CUDA_ERROR_NO_BINARY_FOR_GPU) {
    int major = 0, minor = 0;
    cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                         device);
    cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                         device);
    recordError("CUDA error: the library's cubin was compiled for another GPU "
                "than device 0 (sm_%d%d); recompile with --chip=sm_%d%d or "
                "with PTX (--gpu-format=ptx)",
                major, minor, major, minor);
    return NULL;
  }
  return check(result, "loading the device code (cuModuleLoadData)") ? module
                                                                      : NULL;
}

QNT_HIDDEN void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  CUmodule module = NULL;
  if (!ready())
    return NULL;
  char log[4096] = "";
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {(void *)(intptr_t)optLevel, log,
                    (void *)(uintptr_t)sizeof log};
  CUresult result = cuModuleLoadDataEx(&module, ptx, 3, options, values);
  if (result != CUDA_SUCCESS) {
    char buffer[256];
    recordError("CUDA error: the driver could not compile the library's PTX "
                "(cuModuleLoadDataEx): %s%s%s%s",
                describe(result, buffer, sizeof buffer),
                result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION
                    ? "; the driver is older than the PTX ISA version the "
                      "library was compiled for"
                    : "",
                log[0] ? "; JIT log: " : "", log);
    return NULL;
  }
  return module;
}

QNT_HIDDEN void mgpuModuleUnload(void *module) {
  /* Runs from a destructor, possibly after the driver shut down at exit:
   * a failure to unload is not worth reporting. */
  if (module && !failed)
    cuModuleUnload((CUmodule)module);
}

QNT_HIDDEN void *mgpuModuleGetFunction(void *module, const char *name) {
  CUfunction function = NULL;
  if (!module || !ready())
    return NULL;
  char what[256];
  snprintf(what, sizeof what, "cuModuleGetFunction(%s)", name);
  return check(cuModuleGetFunction(&function, (CUmodule)module, name), what)
             ? function
             : NULL;
}

QNT_HIDDEN void mgpuLaunchKernel(void *function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t sharedMemory,
                                 void *stream, void **params, void **extra,
                                 size_t paramsCount) {
  (void)paramsCount;
  if (!function || !ready())
    return;
  /* A loop with no iterations maps to an empty grid, which the driver
   * rejects; there is nothing to run. */
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0 || blockX <= 0 || blockY <= 0 ||
      blockZ <= 0)
    return;
  char what[160];
  snprintf(what, sizeof what,
           "cuLaunchKernel (grid %ldx%ldx%ld, block %ldx%ldx%ld)",
           (long)gridX, (long)gridY, (long)gridZ, (long)blockX, (long)blockY,
           (long)blockZ);
  check(cuLaunchKernel((CUfunction)function, gridX, gridY, gridZ, blockX,
                       blockY, blockZ, sharedMemory, (CUstream)stream, params,
                       extra),
        what);
}

/* --- streams ------------------------------------------------------------- */

QNT_HIDDEN void *mgpuStreamCreate(void) {
  CUstream stream = NULL;
  if (!ready())
    return NULL;
  return check(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
               "cuStreamCreate")
             ? stream
             : NULL;
}

QNT_HIDDEN void mgpuStreamSynchronize(void *stream) {
  /* Kernel faults surface here, after the launch returned. */
  if (stream && ready())
    check(cuStreamSynchronize((CUstream)stream),
          "cuStreamSynchronize (a kernel or copy of the step failed)");
}

QNT_HIDDEN void mgpuStreamDestroy(void *stream) {
  if (stream && ready())
    check(cuStreamDestroy((CUstream)stream), "cuStreamDestroy");
}

/* --- memory -------------------------------------------------------------- */

QNT_HIDDEN void *mgpuMemAlloc(uint64_t size, void *stream, bool hostShared) {
  CUdeviceptr pointer = 0;
  if (!ready() || size == 0)
    return NULL;
  if (hostShared) {
    recordError("CUDA error: host-shared allocations are not supported");
    return NULL;
  }
  char what[96];
  snprintf(what, sizeof what, "allocating %llu bytes of device memory",
           (unsigned long long)size);
  /* Stream-ordered allocations come from the driver's pool: the buffers of
   * one step are reused by the next without a device-wide synchronization. */
  CUresult result = stream && memoryPools
                        ? cuMemAllocAsync(&pointer, size, (CUstream)stream)
                        : cuMemAlloc(&pointer, size);
  return check(result, what) ? (void *)pointer : NULL;
}

QNT_HIDDEN void mgpuMemFree(void *pointer, void *stream) {
  if (!pointer || !ready())
    return;
  if (stream && memoryPools) {
    check(cuMemFreeAsync((CUdeviceptr)pointer, (CUstream)stream),
          "freeing device memory (cuMemFreeAsync)");
    return;
  }
  /* Kernels queued on the stream may still use the buffer. */
  if (stream && !check(cuStreamSynchronize((CUstream)stream),
                       "cuStreamSynchronize (a kernel or copy of the step "
                       "failed)"))
    return;
  check(cuMemFree((CUdeviceptr)pointer), "freeing device memory (cuMemFree)");
}

/* dst and src may each be host or device memory: with unified addressing the
 * driver tells them apart by address. */
QNT_HIDDEN void mgpuMemcpy(void *dst, void *src, size_t size, void *stream) {
  if (!dst || !src || size == 0 || !ready())
    return;
  check(cuMemcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src, size,
                      (CUstream)stream),
        "copying between host and device (cuMemcpyAsync)");
}

/* --- constants ----------------------------------------------------------- */

/* A rank-1 memref descriptor of bytes, as MLIR's C interface lays it out. */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} ByteMemRef;

typedef struct {
  const void *host;
  CUdeviceptr device;
} ConstantCopy;

static pthread_mutex_t constantLock = PTHREAD_MUTEX_INITIALIZER;
static ConstantCopy *constants;
static size_t numConstants, capacityConstants;

/* The device copy of a constant of the library (a weight matrix, a table),
 * uploaded on first use and kept for the life of the process: the host
 * address of the library's global identifies it. On failure the result is
 * a null buffer and the error is recorded. */
QNT_HIDDEN void _mlir_ciface_qnt_cuda_constant(ByteMemRef *result,
                                               int64_t host, int64_t bytes) {
  memset(result, 0, sizeof *result);
  result->sizes[0] = bytes;
  result->strides[0] = 1;
  if (!ready())
    return;
  CUdeviceptr device = 0;
  pthread_mutex_lock(&constantLock);
  for (size_t i = 0; i < numConstants; ++i)
    if (constants[i].host == (const void *)(intptr_t)host)
      device = constants[i].device;
  if (!device && bytes > 0) {
    char what[96];
    snprintf(what, sizeof what, "uploading a %lld-byte constant",
             (long long)bytes);
    if (numConstants == capacityConstants) {
      size_t capacity = capacityConstants ? 2 * capacityConstants : 64;
      ConstantCopy *grown = realloc(constants, capacity * sizeof *grown);
      if (!grown) {
        recordError("CUDA error: out of host memory for the constant table");
        pthread_mutex_unlock(&constantLock);
        return;
      }
      constants = grown;
      capacityConstants = capacity;
    }
    if (check(cuMemAlloc(&device, (size_t)bytes), what) &&
        check(cuMemcpyHtoD(device, (const void *)(intptr_t)host,
                           (size_t)bytes),
              what)) {
      constants[numConstants].host = (const void *)(intptr_t)host;
      constants[numConstants].device = device;
      ++numConstants;
    } else {
      device = 0;
    }
  }
  pthread_mutex_unlock(&constantLock);
  result->allocated = result->aligned = (void *)device;
}
