// Calls the compiled @linear of a --target=cuda library on a machine without
// a usable GPU: the runtime's status functions report it, and a call made
// anyway returns (its host result buffer allocated) instead of crashing.
#include "linear.h"
#include "qnt/Runtime/CudaRuntime.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  const char *error = qnt_cuda_init();
  printf("init: %s\n", error ? error : "ok");
  float x[2][40] = {{0}};
  qnt_memref_float_2d in = {&x[0][0], &x[0][0], 0, {2, 40}, {40, 1}};
  qnt_memref_float_2d out;
  _mlir_ciface_linear(&out, &in);
  printf("result: %ldx%ld\n", (long)out.sizes[0], (long)out.sizes[1]);
  free(out.allocated);
  error = qnt_cuda_error();
  printf("after: %s\n", error ? error : "ok");
  return 0;
}
