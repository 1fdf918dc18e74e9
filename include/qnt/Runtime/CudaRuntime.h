/* The qnt CUDA runtime: what a library compiled by quant-compile
 * --target=cuda exports besides its model functions. Plain C, so C callers
 * can include it.
 *
 * The library's host code calls the mgpu* entry points (the names and
 * signatures MLIR's gpu-to-llvm lowering emits); they are implemented in
 * lib/Runtime/CudaRuntime.c on the CUDA driver API. No entry point aborts:
 * the first failure (no device, a failed load, launch or copy) is recorded,
 * every later CUDA call of the library becomes a no-op, and the message is
 * returned by qnt_cuda_error(). Results computed after a failure are
 * meaningless, so callers check qnt_cuda_error() after each call. */
#ifndef QNT_RUNTIME_CUDARUNTIME_H
#define QNT_RUNTIME_CUDARUNTIME_H

#ifdef __cplusplus
extern "C" {
#endif

/* Initializes CUDA (device 0, its primary context) if that has not happened
 * yet. Returns NULL when the library can run, else the recorded error, which
 * starts with "no CUDA device" when there is no usable driver or GPU. */
const char *qnt_cuda_init(void);

/* The first error recorded by the library's CUDA calls, or NULL. */
const char *qnt_cuda_error(void);

#ifdef __cplusplus
}
#endif

#endif /* QNT_RUNTIME_CUDARUNTIME_H */
